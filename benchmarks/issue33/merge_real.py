"""Issue 33 helper. Merge real-music check JSONs of separate passes over the same track sample into one
(models, relations, spreads and per-track predictions), for compare_real.py.

    python benchmarks/issue33/merge_real.py OUT.json a.json b.json ...
"""
import json
import sys

out, parts = sys.argv[1], [json.load(open(f)) for f in sys.argv[2:]]
merged = dict(parts[0])
merged["models"] = list(dict.fromkeys(m for p in parts for m in p["models"]))
for key in ("audio", "midi", "spread"):
    merged[key] = {m: v for p in parts for m, v in p[key].items()}
for kind in ("audio", "midi"):
    tracks: dict = {}
    for p in parts:
        for track, variants in p["per_track"][kind].items():
            for variant, models in variants.items():
                tracks.setdefault(track, {}).setdefault(variant, {}).update(models)
    merged["per_track"][kind] = tracks
assert all(p["seed"] == merged["seed"] and p["per_track"]["audio"].keys() == merged["per_track"]["audio"].keys()
           for p in parts), "passes over different track samples"
json.dump(merged, open(out, "w"), indent=1)
