"""Issue 33 helper. Tabulate the real-music check's JSON for several models: share right [CI] per relation, sd and ratio."""
import json
import sys

result = json.load(open(sys.argv[1]))
models = sys.argv[2].split(",") if len(sys.argv) > 2 else result["models"]
valsd = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}  # model -> synthetic validation pred sd [v, a]
rows = {}
for m in models:
    for rel in result["audio"][m] + result["midi"][m]:
        key = ("MIDI: " if rel in result["midi"][m] else "") + rel["relation"]
        rows.setdefault(key, {})[m] = rel
print("| relation | " + " | ".join(models) + " |")
print("|---|" + "---:|" * len(models))
for key, per in rows.items():
    cells = []
    for m in models:
        r = per[m]
        cells.append(f"{r['share_right']:.0%} [{r['share_ci'][0]:.0%}, {r['share_ci'][1]:.0%}] ({r['mean_delta']:+.3f})")
    print(f"| {key} | " + " | ".join(cells) + " |")
print()
print("| model | real sd V / A | MIDI sd V / A | fresh synth sd V / A | real/fresh V | real/val V |")
print("|---|---:|---:|---:|---:|---:|")
for m in models:
    s = result["spread"][m]
    f = s.get("fresh") or {}
    v = valsd.get(m)
    print(f"| {m} | {s['real_valence']:.3f} / {s['real_arousal']:.3f} | {s['midi_valence']:.3f} / {s['midi_arousal']:.3f} | "
          f"{f.get('sd_valence', float('nan')):.3f} / {f.get('sd_arousal', float('nan')):.3f} | "
          f"{s['real_valence'] / f['sd_valence'] if f else float('nan'):.2f} | "
          f"{s['real_valence'] / v[0] if v else float('nan'):.2f} |")
