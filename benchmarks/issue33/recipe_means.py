"""Issue 33 helper. Per relation of the real-music check: each recipe's mean share right over its runs, and the
lowest–highest run (the runs of a recipe are the models PREFIX-r0, PREFIX-r1, ... in the JSONs).

    python benchmarks/issue33/recipe_means.py build/a.json[,build/b.json] tw-base,tw-render,...
"""
import json
import sys

files, prefixes = sys.argv[1].split(","), sys.argv[2].split(",")
rows: dict[str, dict[str, list[float]]] = {}
for f in files:
    result = json.load(open(f))
    for model in result["models"]:
        prefix = model.rsplit("-r", 1)[0]
        if prefix not in prefixes:
            continue
        for rel in result["audio"][model] + result["midi"][model]:
            key = ("MIDI: " if rel in result["midi"][model] else "") + rel["relation"]
            rows.setdefault(key, {}).setdefault(prefix, []).append(rel["share_right"])
print("| relation | " + " | ".join(f"{p} (n runs)" for p in prefixes) + " |")
print("|---|" + "---:|" * len(prefixes))
for key, per in rows.items():
    cells = [f"{sum(v) / len(v):.0%} ({min(v):.0%}–{max(v):.0%}, {len(v)})" if (v := per.get(p)) else "—" for p in prefixes]
    print(f"| {key} | " + " | ".join(cells) + " |")
