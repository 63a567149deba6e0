"""Issue 33 helper. Register every run of a `moodmap train` folder as its own model (NAME-r0, NAME-r1, ...)."""
import json
import sys
from pathlib import Path

from moodmap.research.models.card import _provenance, register
from moodmap.research.models.checkpoint import load_checkpoint

run_dir, prefix, folder = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
summary = json.loads((run_dir / "summary.json").read_text())
for r in summary["runs"]:
    path = run_dir / f"run-{r['run']}" / "last.pt"
    record = _provenance(load_checkpoint(path), summary)
    print(register(path, f"{prefix}-r{r['run']}", f"{prefix} run {r['run']}", f"# {prefix} run {r['run']}\n",
                   folder, record))
