# Issue 33 diagnostic (2026-12-01). Run from the repository root: MOODMAP_MODELS=build/exp/models python benchmarks/issue33/rendering_ablation.py MODEL...
"""Which part of moodmap's score rendering lets the mix models hear mode? Held-out pieces, rendered
with one thing changed at a time; share of pairs with major above minor."""
import glob, json, os, sys, tempfile
from dataclasses import replace
from pathlib import Path
import numpy as np
import soundfile as sf
from moodmap.research.datasets import scores, soundfont
from moodmap.research.datasets.score import song_params
from moodmap.research.datasets.synth import song_seed
from moodmap.inference.registry import resolve
from moodmap.inference.predict import predict_file

works = [json.load(open(f))["work"] for f in sorted(glob.glob("build/exp/sc40-test/clips/s*.json"))][:int(os.environ.get("PIECES", 20))]
models = sys.argv[1:]
predictors = {m: resolve(m).predictor for m in models}
orig_instr, orig_shape = soundfont.instrumentation, soundfont.tone_shape
variants = {
    "as trained": {},
    "piano only": {"instrumentation": lambda p: {"pad": 0, "lead": 0, "bass": 0}},
    "no drums": {"drums": False},
    "no tone shaping/drive": {"tone_shape": lambda mono, params, rate: mono},
    "plain (piano, no drums, no shaping, consonant)": {"instrumentation": lambda p: {"pad": 0, "lead": 0, "bass": 0},
        "drums": False, "tone_shape": lambda mono, params, rate: mono, "consonance": 1.0},
}
chosen = [v for v in os.environ.get("VARIANTS", "").split(",") if v]  # e.g. VARIANTS="as trained,piano only"
variants = {k: v for k, v in variants.items() if not chosen or k in chosen}
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for name, change in variants.items():
        soundfont.instrumentation = change.get("instrumentation", orig_instr)
        soundfont.tone_shape = change.get("tone_shape", orig_shape)
        d = {m: [] for m in models}
        for i, work in enumerate(works):
            piece = scores.read_piece(work)
            params, stretch, shift = scores.piece_params(piece, f"s{i}", song_seed(99, i + 1))
            if "consonance" in change:
                params = replace(params, consonance=change["consonance"])
            wav = {}
            for version in (piece, scores.parallel_mode(piece)):
                p = replace(params, mode=version.mode)
                notes, hits = scores.performance(version, p, stretch, shift, 30.0)
                if change.get("drums") is False:
                    hits = []
                audio = soundfont.render_soundfont(p, notes, hits, 30.0, 22050)
                wav[version.mode] = tmp / f"{version.mode}.wav"
                sf.write(wav[version.mode], audio, 22050)
            for m in models:
                v = {k: predict_file(str(w), predictors[m], m).valence for k, w in wav.items()}
                d[m].append(v["ionian"] - v["aeolian"])
        print(name + ": " + "; ".join(f"{m} {np.mean(np.array(d[m]) > 0):.0%} ({np.mean(d[m]):+.3f})" for m in models), flush=True)
