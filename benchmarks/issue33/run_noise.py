"""Issue 33 helper. Recipe against recipe on the real-music check with the *run* as the unit: per relation, each run's
mean Δ over the pieces (signed so that + is the predicted direction) and its share right; the difference of a
candidate recipe's run mean from the baseline's, with a 95 % Welch t interval over runs — the interval that knows
about training noise (the bootstrap over pieces does not).

    python benchmarks/issue33/run_noise.py build/a.json[,build/b.json] tw-base tw-render,tw-mixed,...
"""
import json
import sys

import numpy as np
from scipy import stats

files, base, candidates = sys.argv[1].split(","), sys.argv[2], sys.argv[3].split(",")
per: dict[str, dict[str, list[tuple[float, float]]]] = {}  # relation -> recipe -> [(signed mean Δ, share)]
for f in files:
    result = json.load(open(f))
    for model in result["models"]:
        recipe = model.rsplit("-r", 1)[0]
        if recipe != base and recipe not in candidates:
            continue
        for rel in result["audio"][model] + result["midi"][model]:
            key = ("MIDI: " if rel in result["midi"][model] else "") + rel["relation"]
            sign = 1.0 if rel.get("expected", 1) >= 0 else -1.0
            per.setdefault(key, {}).setdefault(recipe, []).append((sign * rel["mean_delta"], rel["share_right"]))


def welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means b − a and its 95 % Welch interval."""
    d = b.mean() - a.mean()
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return d, d, d
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    t = stats.t.ppf(0.975, df)
    return d, d - t * se, d + t * se


print("| relation | " + " | ".join(f"{c} − {base}: share (pp) / Δ [95 % CI over runs]" for c in candidates) + " |")
print("|---|" + "---:|" * len(candidates))
for key, recipes in per.items():
    a = np.array(recipes[base])
    cells = []
    for c in candidates:
        b = np.array(recipes.get(c, []))
        if len(b) < 2 or len(a) < 2:
            cells.append("—")
            continue
        ds, los, his = welch(a[:, 1], b[:, 1])
        dd, lod, hid = welch(a[:, 0], b[:, 0])
        flag = " **" if lod > 0 or hid < 0 else ""
        cells.append(f"{100 * ds:+.0f} [{100 * los:+.0f}, {100 * his:+.0f}] / {dd:+.4f} [{lod:+.4f}, {hid:+.4f}]{flag}")
    print(f"| {key} | " + " | ".join(cells) + " |")
print()
print("Δ signed so + is the predicted direction; ** the Δ interval excludes 0.")
