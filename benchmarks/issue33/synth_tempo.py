"""Issue 33 helper (run from the worktree root). The tempo relation on held-out *synthetic* songs: the check's
fresh 60-song set (seed 7, soundfont; no run trained or validated on it) played ×1.25 and ×0.8, by the score
(tempo_twins' "render": same notes, same instruments) and by the phase vocoder; per model, the share of songs
whose predicted arousal is higher at ×1.25 than at ×0.8, and the mean difference (0–1 scale).

    python benchmarks/issue33/synth_tempo.py render
    python benchmarks/issue33/synth_tempo.py predict build/runs/base build/runs/render ...   # every run's last.pt

writes build/synth_tempo.json, or the file named by $SYNTH_TEMPO_JSON.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np

from moodmap.inference.predict import predict_file
from moodmap.research.datasets.synth import plan
from moodmap.research.datasets.tempo_twins import render_tempo_twin
from moodmap.research.datasets.twins import source_spec
from moodmap.research.models.checkpoint import load_checkpoint

SOURCE = Path("build/real_music/synth-soundfont-60-seed7").resolve()
OUT = Path("build/synth_tempo")
RATES = {"fast": 1.25, "slow": 0.8}


def files() -> dict[str, dict[str, Path]]:
    spec = source_spec(SOURCE)
    return {p.song_id: {f"{how}-{k}": OUT / f"{how}-{k}" / f"{p.song_id}.flac" for how in ("render", "vocoder")
                        for k in RATES} for p in plan(spec)}


if sys.argv[1] == "render":
    spec = source_spec(SOURCE)
    for p in plan(spec):
        for how in ("render", "vocoder"):
            for k, r in RATES.items():
                (OUT / f"{how}-{k}").mkdir(parents=True, exist_ok=True)
                render_tempo_twin(p, r, how, spec, SOURCE, OUT / f"{how}-{k}" / f"{p.song_id}.flac")
else:
    out = {}
    for folder in map(Path, sys.argv[2:]):
        for run in sorted(folder.glob("run-*")):
            model = load_checkpoint(run / "last.pt")
            arousal = {song: {v: predict_file(path, model).arousal for v, path in variants.items()}
                       for song, variants in files().items()}
            name = f"{folder.name}-r{run.name.split('-')[1]}"
            row = {}
            for how in ("render", "vocoder"):
                d = np.array([a[f"{how}-fast"] - a[f"{how}-slow"] for a in arousal.values()])
                row[how] = {"share_right": float((d > 0).mean()), "mean_delta": float(d.mean())}
            out[name] = row
            print(f"| {name} | {row['render']['share_right']:.0%} ({row['render']['mean_delta']:+.3f}) | "
                  f"{row['vocoder']['share_right']:.0%} ({row['vocoder']['mean_delta']:+.3f}) |", flush=True)
    json.dump(out, open(os.environ.get("SYNTH_TEMPO_JSON", "build/synth_tempo.json"), "w"), indent=1)
