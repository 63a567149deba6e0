# Issue 33 diagnostic (2026-12-01). Run from the repository root: MOODMAP_MODELS=build/exp/models python benchmarks/issue33/check_pipeline_on_scores.py MODEL...
"""Held-out score pieces through the real-music check's own MIDI pipeline: music21 → MIDI file →
the check's truncation, key finding, parallel-mode edit and FluidSynth rendering → each model."""
import glob, json, sys, tempfile, importlib.util
from pathlib import Path
import numpy as np
sys.path.insert(0, "benchmarks")
spec = importlib.util.spec_from_file_location("real_music", "benchmarks/real_music.py")
rm = importlib.util.module_from_spec(spec); sys.modules["real_music"] = rm; spec.loader.exec_module(rm)
import metamorphic as mm
import mido
from music21 import corpus
from moodmap.inference.registry import resolve
from moodmap.inference.predict import predict_file

works = [json.load(open(f))["work"] for f in sorted(glob.glob("build/exp/sc40-test/clips/s*.json"))][:30]
models = sys.argv[1:]
predictors = {m: resolve(m).predictor for m in models}
font = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
res = {m: [] for m in models}
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for i, work in enumerate(works):
        s = corpus.parse(work)
        mid = tmp / "piece.mid"
        try:
            s.write("midi", fp=str(mid))
        except Exception as exc:
            print("skip", work, type(exc).__name__); continue
        midi = rm.truncated(mido.MidiFile(str(mid)), rm.MIDI_SECONDS)
        edits, found = mm.midi_variants(midi)
        wavs = {v: rm.render(edits[v], tmp / f"{v}.wav", font) for v in ("major", "minor")} if edits["major"] is not edits["minor"] else None
        for m in models:
            v = {k: predict_file(str(w), predictors[m], m).valence for k, w in wavs.items()}
            res[m].append(v["major"] - v["minor"])
        print(f"\r{i+1}/{len(works)}", end="", flush=True)
print()
for m in models:
    d = np.array(res[m]); print(f"{m}: check pipeline on held-out score pieces n={len(d)} major>minor {np.mean(d > 0):.0%}, mean Δ {d.mean():+.3f}")
