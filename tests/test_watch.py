"""`moodmap scan --watch` keeps the index current by itself, as a user runs it (the CLI, a real
folder, files copied in by another process); `--quiet` is what cron wants."""
from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import copy_slowly, tone, write_audio
from moodmap.library.tags import read_mood_tags, write_mood_tags
from userlib import make_user_library

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
                                "--grace", "2", "--jobs", "1"], stdout=out, stderr=subprocess.STDOUT, text=True)
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

    copy_slowly(data, target)
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


# --- scan --watch keeps identity and goes idle (issue 30) -------------------------------------
# The watcher as a user runs it, with short timings: --settle 0.5 and --grace 4 (a minute by default).

def ids(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        return {Path(p).name: i for i, p in connection.execute("SELECT id, path FROM songs")}


def journaled(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {p for (p,) in connection.execute("SELECT DISTINCT path FROM tag_journal")}


def moved_line(log: Path) -> bool:
    """Whether the watcher's last summary line reports songs moved (printed after the index's commit)."""
    return bool(re.search(r" [1-9]\d* moved", (rescans(log) or [""])[-1]))


def rescans(log: Path) -> list[str]:
    """The watcher's summary lines, one per scan: "HH:MM:SS N files: …"."""
    return [line for line in log.read_text().splitlines() if re.match(r"\d\d:\d\d:\d\d \d+ files?: ", line)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_watching(music: Path, db: Path, log: Path, *options: str) -> subprocess.Popen:
    process = subprocess.Popen([MOODMAP, "scan", str(music), "--db", str(db), "--watch", "--jobs", "1",
                                "--settle", "0.5", "--grace", "4", *options], stdout=open(log, "w"),
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    until(lambda: len(rescans(log)) >= 1 or process.poll() is not None)
    assert process.poll() is None, log.read_text()
    return process


def stop_watching(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
    try:
        assert process.wait(timeout=30) == 0
    finally:  # a watcher that did not stop is ended here, not left running after the test
        if process.poll() is None:
            process.kill()


def untag(db: Path) -> None:
    done = subprocess.run([MOODMAP, "untag", "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done


def test_a_renamed_tagged_file_keeps_its_id_and_untag_restores_it_at_its_new_name(tmp_path):
    music, db, log = tmp_path / "music", tmp_path / "lib.sqlite", tmp_path / "watch.out"
    *_, song = make_user_library(music, seconds=12, names=[("Band", "Live", "Intro"), ("Band", "Live", "Hymn"),
                                                           ("Band", "Live", "War Of Freedom")])
    write_mood_tags(song, {"MOOD": "Defiant"})  # the user's own mood, which --mood-tag replace overwrites
    before = read_mood_tags(song)
    process = start_watching(music, db, log, "--write-tags", "--mood-tag", "replace")
    try:
        assert read_mood_tags(song)["MOOD"] != "Defiant" and str(song) in journaled(db)
        known = ids(db)
        song.rename(song.with_name("03 War of Freedom (live).ogg"))  # mv "03 War Of Freedom.ogg" "… (live).ogg"
        # the index holds the move before the watcher prints its line: wait for both, or the stop can come between
        until(lambda: "03 War of Freedom (live).ogg" in ids(db) and moved_line(log))
    finally:
        stop_watching(process)
    renamed = song.with_name("03 War of Freedom (live).ogg")
    assert ids(db)["03 War of Freedom (live).ogg"] == known["03 War Of Freedom.ogg"] and len(ids(db)) == 3
    assert " 1 moved, 0 removed" in rescans(log)[-1] and " 1 analysed" not in rescans(log)[-1], log.read_text()
    assert str(song) not in journaled(db) and str(renamed) in journaled(db)
    untag(db)
    assert read_mood_tags(renamed) == before


def test_a_moved_album_folder_keeps_its_songs_and_their_tag_journal(tmp_path):
    music, db, log = tmp_path / "music", tmp_path / "lib.sqlite", tmp_path / "watch.out"
    songs_ = make_user_library(music, seconds=12, names=[("Band", "Album", "One"), ("Band", "Album", "Two")])
    before = {p.name: read_mood_tags(p) for p in songs_}
    process = start_watching(music, db, log, "--write-tags")
    try:
        known = ids(db)
        (music / "Band" / "Album").rename(music / "Band" / "Album (2009)")
        until(lambda: all(str(music / "Band" / "Album (2009)" / p.name) in journaled(db) for p in songs_)
              and moved_line(log))  # and the rescan's line printed (it follows the index's commit)
    finally:
        stop_watching(process)
    assert ids(db) == known and " 2 moved, 0 removed" in rescans(log)[-1], log.read_text()
    untag(db)
    assert {p.name: read_mood_tags(music / "Band" / "Album (2009)" / p.name) for p in songs_} == before


def slow_write(target: Path, data: bytes, seconds: float) -> None:
    """Write ``data`` as a slow copy does (a NAS over Wi-Fi): a piece every 0.2 s, never still for --settle."""
    pieces = round(seconds / 0.2)
    with open(target, "wb") as handle:
        for piece in np.array_split(np.frombuffer(data, np.uint8), pieces):
            handle.write(piece.tobytes())
            handle.flush()
            time.sleep(0.2)


def out_and_back(song: Path, outside: Path) -> Path:
    song.rename(outside)  # out of the watched folder: the watcher sees a deletion …
    time.sleep(2.5)  # … settle and more later …
    outside.rename(song.with_name("back.flac"))  # … it comes back (a creation)
    return song.with_name("back.flac")


def deleted_then_written_slowly(song: Path, outside: Path) -> Path:
    data = song.read_bytes()
    song.unlink()  # the old name goes first; the new one is still being written after --grace has passed …
    writer = threading.Thread(target=slow_write, args=(song.with_name("new.flac"), data, 6.0))
    writer.start()
    time.sleep(1)
    write_audio(outside, tone(12.0, freqs=(330.0,)))
    shutil.copy(outside, song.with_name("other.flac"))  # … and another song arrives meanwhile: a rescan
    writer.join()
    return song.with_name("new.flac")


def copied_then_deleted_later(song: Path, outside: Path) -> Path:
    shutil.copy2(song, song.with_name("copy.flac"))
    time.sleep(2.5)  # the copy has settled long before the original is deleted
    song.unlink()
    return song.with_name("copy.flac")


def two_song_album(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A music folder holding Album/0.flac and Album/1.flac (12 s, different tones), and where the
    index and the watcher's output go: (music, db, log)."""
    music = tmp_path / "music"
    (music / "Album").mkdir(parents=True)
    for i in range(2):
        write_audio(music / "Album" / f"{i}.flac", tone(12.0, freqs=(220.0 * (i + 1),)))
    return music, tmp_path / "lib.sqlite", tmp_path / "watch.out"


@pytest.mark.parametrize("move", [out_and_back, deleted_then_written_slowly, copied_then_deleted_later])
def test_a_move_seen_in_pieces_keeps_the_song(tmp_path, move):
    music, db, log = two_song_album(tmp_path)
    process = start_watching(music, db, log, "--write-tags")
    try:
        known = ids(db)
        moved = move(music / "Album" / "0.flac", tmp_path / "outside.flac")
        until(lambda: moved.name in ids(db) and "0.flac" not in ids(db))
    finally:
        stop_watching(process)
    assert ids(db)[moved.name] == known["0.flac"] and "1.flac" in ids(db), log.read_text()
    assert str(moved) in journaled(db) and str(music / "Album" / "0.flac") not in journaled(db)
    assert all(" 0 removed" in line for line in rescans(log)), log.read_text()  # never removed, then analysed


def test_a_song_being_played_holds_no_removal_back(tmp_path):
    """A file opened and read over and over (a player, another indexer) is not changing."""
    music, db, log = two_song_album(tmp_path)
    process = start_watching(music, db, log)
    playing = threading.Event()

    def play() -> None:
        while not playing.is_set():
            (music / "Album" / "0.flac").read_bytes()
            time.sleep(0.1)

    player = threading.Thread(target=play)
    player.start()
    try:
        (music / "Album" / "1.flac").unlink()
        until(lambda: "1.flac" not in ids(db), seconds=15)  # once --grace (4 s) has passed
    finally:
        playing.set()
        player.join()
        stop_watching(process)
    assert " 1 removed" in rescans(log)[-1], log.read_text()


def test_the_watcher_goes_idle_after_a_change(tmp_path):
    music, db, log = two_song_album(tmp_path)
    process = start_watching(music, db, log, "--write-tags")
    try:
        time.sleep(2)  # the first scan's own tag writes and reads have settled: no work
        assert len(rescans(log)) == 1, log.read_text()
        write_audio(tmp_path / "new.flac", tone(12.0, freqs=(330.0,)))
        shutil.copy(tmp_path / "new.flac", music / "Album" / "new.flac")  # one change
        until(lambda: "new.flac" in ids(db) and str(music / "Album" / "new.flac") in journaled(db))
        time.sleep(1.5)  # the rescan's own tag writes settle and are looked at (the index holds them: no work)
        cpu = cpu_seconds(process.pid)
        time.sleep(5)  # quiet: nothing changes
        quiet_cpu = cpu_seconds(process.pid) - cpu
    finally:
        stop_watching(process)
    assert len(rescans(log)) == 2, log.read_text()  # the first scan, then one rescan for the change
    assert quiet_cpu < 0.025, quiet_cpu  # at most two clock ticks in 5 s (a rescan a second took 0.03–0.07 s)
