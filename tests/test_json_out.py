"""`--json PATH` of train, evaluate and compare: its folder is checked before the work, so hours of
training never end in a report that cannot be written (and the work is not started at all)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MOODMAP = Path(sys.executable).parent / "moodmap"


@pytest.mark.parametrize("command", [["train", "cache", "--out", "runs"], ["evaluate", "improved", "cache"],
                                     ["compare", "cache", "--out", "runs"]])
def test_a_json_path_in_a_missing_folder_is_refused_before_any_work(tmp_path, command):
    (tmp_path / "cache").mkdir()
    done = subprocess.run([str(MOODMAP), *command, "--json", "missing/report.json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "moodmap: missing/report.json: not written: its folder missing does not exist"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no run folder, nothing started
