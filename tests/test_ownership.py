"""A tag write keeps the file's owner, group and mode: a root cron job `scan --write-tags` over a
user's library must not hand the user's files to root (and `untag` neither)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from userlib import FORMATS, make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")
USER = (1000, 1000)  # another user's files, as a root cron job sees them


def moodmap(*args: str, cwd: Path) -> str:
    done = subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def owners(songs: list[Path]) -> dict[str, tuple[int, int, int, int]]:
    """Each file's owner, group, permission bits and inode."""
    return {p.name: ((st := p.stat()).st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_ino) for p in songs}


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root (CI runs as root)")
def test_tag_writes_and_untag_keep_owner_group_and_mode(tmp_path):
    songs = make_user_library(tmp_path / "Music", seconds=16.0)
    for i, song in enumerate(songs):
        os.chown(song, *USER)
        song.chmod((0o640, 0o604, 0o664)[i % 3])
    before = {name: info[:3] for name, info in owners(songs).items()}
    out = moodmap("scan", "Music", "--db", "library.sqlite", "--write-tags", cwd=tmp_path)
    assert f"{len(FORMATS)} files tagged" in out, out
    assert {name: info[:3] for name, info in owners(songs).items()} == before
    assert f"{len(FORMATS)} files restored" in moodmap("untag", "--db", "library.sqlite", cwd=tmp_path)
    assert {name: info[:3] for name, info in owners(songs).items()} == before
