# Issue 33 diagnostic (2026-12-01): python benchmarks/issue33/score_pairs.py SCORE_SET/manifest.csv MODEL...
"""Share of held-out score pieces whose major rendering a model rates above its minor twin."""
import csv, sys
import numpy as np
from moodmap.inference.predict import predict_file
from moodmap.inference.registry import resolve
manifest = sys.argv[1]
rows = list(csv.DictReader(open(manifest)))
groups = {}
for r in rows:
    groups.setdefault(r["group"], []).append(r)
params = {r["song_id"]: r for r in csv.DictReader(open(manifest.replace("manifest.csv", "synth_params.csv")))}
for name in sys.argv[2:]:
    model = resolve(name).predictor
    right, deltas = [], []
    for g, pair in groups.items():
        v = {r["song_id"]: predict_file(r["path"], model, name).valence for r in pair}
        major = next(s for s in v if params[s]["mode"] == "ionian")
        minor = next(s for s in v if params[s]["mode"] == "aeolian")
        right.append(v[major] > v[minor]); deltas.append(v[major] - v[minor])
    print(f"{name}: held-out score twins n={len(right)} major>minor {np.mean(right):.0%}, mean Δ {np.mean(deltas):+.3f}")
