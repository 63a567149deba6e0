"""Issue 33 helper. Paired per-piece comparison of two recipes on the real-music check: for each
relation, the mean over pieces of (candidate Δ − baseline Δ), each recipe's Δ averaged over its runs,
with a 95 % percentile bootstrap over pieces (2 000 resamples, seed 0)."""
import json
import sys

import numpy as np

sys.path.insert(0, "benchmarks")
import metamorphic as mm  # noqa: E402

files, base, cand = sys.argv[1].split(","), sys.argv[2].split(","), sys.argv[3].split(",")
per = {"audio": {}, "midi": {}}
for f in files:
    r = json.load(open(f))
    for kind in per:
        for track, variants in r["per_track"][kind].items():
            slot = per[kind].setdefault(track, {})
            for v, models in variants.items():
                slot.setdefault(v, {}).update(models)
rng = np.random.default_rng(0)
print("| relation | Δ candidate − Δ baseline [95 % CI] |")
print("|---|---:|")
for kind, relations in (("audio", mm.AUDIO_RELATIONS), ("midi", mm.MIDI_RELATIONS)):
    for rel in relations:
        dim = 0 if rel.dimension == "valence" else 1
        diffs = []
        for track, v in per[kind].items():
            delta = lambda ms: np.mean([v[rel.variant][m][dim] - v[rel.against][m][dim] for m in ms])  # noqa: E731
            diffs.append(rel.expected * (delta(cand) - delta(base)))
        diffs = np.array(diffs)
        boot = [rng.choice(diffs, len(diffs)).mean() for _ in range(2000)]
        lo, hi = np.percentile(boot, [2.5, 97.5])
        print(f"| {('MIDI: ' if kind == 'midi' else '') + rel.name} | {diffs.mean():+.4f} [{lo:+.4f}, {hi:+.4f}] |")
