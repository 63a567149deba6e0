"""An output moodmap cannot write is the user's to fix, not a bug to report: a read-only folder,
a path through a file, a full disk each give one line naming the path and the reason, exit 2 —
never "internal error … please report it"."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from userlib import make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """A folder with a scanned library.sqlite, a file named ``afile`` and a read-only folder ``ro``."""
    home = tmp_path_factory.mktemp("unwritable")
    make_user_library(home / "Music", seconds=16.0)
    assert moodmap("scan", "Music", "--db", "library.sqlite", cwd=home).returncode == 0
    (home / "afile").write_text("not a folder\n")
    ro = home / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes through a 0555 folder: a read-only file system stops root too
        if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                                                            str(ro)]).returncode != 0:
            pytest.skip("root, and no read-only tmpfs could be mounted")
    else:
        ro.chmod(0o555)
    yield home
    if os.geteuid() == 0:
        subprocess.run(["umount", str(ro)], check=True)
    else:
        ro.chmod(0o755)


def moodmap(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def said(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if not line.startswith("moodmap: note:")]


@pytest.mark.parametrize("args,path,reason", [
    (("playlist", "--db", "library.sqlite", "--arousal", "rise", "-o", "ro/x.m3u8"), "ro/x.m3u8", "Read-only"),
    (("playlist-folder", "--all-moods", "--db", "library.sqlite", "--to", "ro"), "ro/moodmap - ", "Read-only"),
    (("map", "--db", "library.sqlite", "-o", "ro/map.png"), "ro/map.png", "Read-only"),
    (("map", "--db", "library.sqlite", "-o", "ro/map.html"), "ro/map.html", "Read-only"),
    (("predict", "Music/Artist B/Album/01 Song 1.mp3", "--plot", "ro/t.png"), "ro/t.png", "Read-only"),
    (("scan", "Music", "--db", "ro/lib.sqlite"), "ro/lib.sqlite", "Read-only"),
    (("integrate", "navidrome", "--write", "ro/navidrome.toml"), "ro/navidrome.toml", "Read-only"),
    (("playlist", "--db", "library.sqlite", "--arousal", "rise", "-o", "afile/x.m3u8"), "afile", "a file is in the way"),
    (("map", "--db", "library.sqlite", "-o", "afile/map.html"), "afile", "a file is in the way"),
    (("predict", "Music/Artist B/Album/01 Song 1.mp3", "--plot", "afile/t.png"), "afile/t.png", "Not a directory"),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_an_unwritable_output_is_one_line_naming_it(library, args, path, reason):
    done = moodmap(*args, cwd=library)
    lines = said(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1 and path in lines[0] and reason in lines[0], done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_a_full_disk_under_standard_output_is_one_line(library):
    with open("/dev/full", "w") as full:
        done = subprocess.run([MOODMAP, "library", "export", "--db", "library.sqlite"], cwd=library, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert said(done) == ["moodmap: could not write the output: No space left on device"], done.stderr
