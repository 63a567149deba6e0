"""Issue 33 helper (run from the worktree root). Song-level validation (grouped split, on csf300's own validation songs of each run) and a fresh
synthetic test set (seed 7, 60 soundfont songs) for every run of the given training folders (the runs its summary.json lists);
writes build/eval_all.json, or the file named by $EVAL_JSON."""
import json
import os
import sys

import numpy as np

from moodmap.research.train import evaluate_checkpoint

out = {}
runs = {name: [r["run"] for r in json.load(open(f"build/runs/{name}/summary.json"))["runs"]] for name in sys.argv[1:]}
for name in sys.argv[1:]:
    for run in runs[name]:
        ck = f"build/runs/{name}/run-{run}/last.pt"
        val = evaluate_checkpoint(ck, "build/csf300", "validation")["evaluation"]["song"]
        fresh = evaluate_checkpoint(ck, "build/cfresh60", "all")["evaluation"]["song"]
        out[f"{name}-r{run}"] = {"val": val, "fresh": fresh}
json.dump(out, open(os.environ.get("EVAL_JSON", "build/eval_all.json"), "w"), indent=1)
keys = [("mae", "{:.3f}"), ("ccc", "{:.2f}"), ("pred_sd", "{:.3f}")]
print("| model | set | n | MAE V / A (baseline) | CCC V / A | pred sd V / A (target) |")
print("|---|---|---:|---:|---:|---:|")
for m, per in out.items():
    for s in ("val", "fresh"):
        e = per[s]; mo, b = e["model"], e["baseline"]
        print(f"| {m} | {s} | {mo['n']} | {mo['valence']['mae']:.3f} / {mo['arousal']['mae']:.3f} "
              f"({b['valence']['mae']:.3f} / {b['arousal']['mae']:.3f}) | {mo['valence']['ccc']:.2f} / {mo['arousal']['ccc']:.2f} | "
              f"{mo['valence']['pred_sd']:.3f} / {mo['arousal']['pred_sd']:.3f} ({mo['valence']['target_sd']:.3f} / {mo['arousal']['target_sd']:.3f}) |")
for name in sys.argv[1:]:
    for s in ("val", "fresh"):
        vals = [(out[f"{name}-r{r}"][s]["model"]["valence"]["mae"], out[f"{name}-r{r}"][s]["model"]["arousal"]["mae"],
                 out[f"{name}-r{r}"][s]["model"]["valence"]["ccc"], out[f"{name}-r{r}"][s]["model"]["arousal"]["ccc"])
                for r in runs[name]]
        print(name, s, f"mean of {len(vals)} runs MAE V/A CCC V/A:", np.round(np.mean(vals, axis=0), 3).tolist())
        base = [(out[f"{name}-r{r}"][s]["baseline"]["valence"]["mae"], out[f"{name}-r{r}"][s]["baseline"]["arousal"]["mae"])
                for r in runs[name]]
        print(name, s, "constant-mean baseline MAE V/A:", np.round(np.mean(base, axis=0), 3).tolist())
