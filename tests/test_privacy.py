"""Nothing written outside what the user named: moodmap predicts, scans and serves offline, and
leaves the home folder as it found it (onnxruntime's official builds otherwise write a device id
and a queued telemetry event under ~/.cache/Microsoft on their first import)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from userlib import make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def run(*args: str, home: Path, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "XDG_"))}
    done = subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**env, "HOME": str(home)})
    assert done.returncode == 0, done.stdout + done.stderr


def test_predict_and_scan_leave_the_home_folder_untouched(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    songs = make_user_library(work / "Music", seconds=16.0)
    (home / ".bashrc").write_text("# the user's\n")
    before = files_under(home)
    run("predict", str(songs[0]), home=home, cwd=work)
    run("scan", str(work / "Music"), "--db", str(work / "library.sqlite"), "--jobs", "2", home=home, cwd=work)
    assert files_under(home) == before
