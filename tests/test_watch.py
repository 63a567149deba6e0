"""`moodmap scan --watch` keeps the index current by itself, as a user runs it (the CLI, a real
folder, files copied in by another process); `--quiet` is what cron wants."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import tone, write_audio

MOODMAP = str(Path(sys.executable).parent / "moodmap")


def songs(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with sqlite3.connect(db) as connection:
        return {Path(p).name: size for p, size in connection.execute("SELECT path, size FROM songs")}


def failures(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [Path(p).name for (p,) in connection.execute("SELECT path FROM failures")]


def until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the watched index did not catch up in time")


@pytest.fixture
def watching(tmp_path):
    music = tmp_path / "music"
    (music / "Album").mkdir(parents=True)
    for i in range(3):
        write_audio(music / "Album" / f"{i}.flac", tone(12.0, freqs=(220.0 * (i + 1),)))
    db = tmp_path / "lib.sqlite"
    out = open(tmp_path / "watch.out", "w+")
    process = subprocess.Popen([MOODMAP, "scan", str(music), "--db", str(db), "--watch", "--settle", "1",
                                "--jobs", "1"], stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        until(lambda: len(songs(db)) == 3)
        yield music, db, tmp_path / "watch.out"
    finally:
        process.terminate()
        process.wait(timeout=30)
        out.close()


def test_watch_picks_up_new_changed_and_removed_files(watching, tmp_path):
    music, db, _ = watching
    write_audio(tmp_path / "new.flac", tone(12.0, freqs=(330.0,)))
    shutil.copy(tmp_path / "new.flac", music / "Album" / "new.flac")
    until(lambda: "new.flac" in songs(db))
    before = songs(db)["1.flac"]
    write_audio(music / "Album" / "1.flac", tone(20.0, freqs=(500.0,)))  # re-encoded in place: another size
    until(lambda: songs(db).get("1.flac") not in (None, before))
    (music / "Album" / "2.flac").unlink()
    until(lambda: "2.flac" not in songs(db))
    assert set(songs(db)) == {"0.flac", "1.flac", "new.flac"} and failures(db) == []


def test_a_file_copied_slowly_is_analysed_once_it_is_complete(watching, tmp_path):
    music, db, log = watching
    source = write_audio(tmp_path / "slow.wav", tone(12.0, freqs=(260.0,)))
    data, target = source.read_bytes(), music / "Album" / "slow.wav"

    def copy_slowly() -> None:  # 3 s for the whole file, in ten pieces: a NAS over Wi-Fi
        with open(target, "wb") as handle:
            for piece in np.array_split(np.frombuffer(data, np.uint8), 10):
                handle.write(piece.tobytes())
                handle.flush()
                time.sleep(0.3)

    copier = threading.Thread(target=copy_slowly)
    copier.start()
    copier.join()
    until(lambda: "slow.wav" in songs(db))
    assert songs(db)["slow.wav"] == len(data) and failures(db) == []
    time.sleep(2)  # nothing more to do: no rescan analyses it again
    analysed = [line for line in log.read_text().splitlines() if " 1 analysed" in line]
    assert len(analysed) == 1, log.read_text()


def test_quiet_prints_one_line_and_exits_by_outcome(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "good.flac", tone(12.0))
    done = subprocess.run([MOODMAP, "scan", str(music), "--db", "lib.sqlite", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "" and len(done.stdout.splitlines()) == 1, done
    (music / "broken.mp3").write_bytes(b"not audio at all" * 100)
    done = subprocess.run([MOODMAP, "scan", str(music), "--db", "lib.sqlite", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stderr == "" and "1 failed" in done.stdout
    assert len(done.stdout.splitlines()) == 1
    done = subprocess.run([MOODMAP, "scan", str(tmp_path / "nowhere"), "--db", "lib.sqlite", "--quiet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "not a folder" in done.stderr
