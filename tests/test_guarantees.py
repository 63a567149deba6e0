"""Promises of docs/reference/guarantees.md that no other test held: each test here fails when the line
that keeps its promise is deleted. Run as a user runs moodmap: the installed ``moodmap``
program, the shipped default model, a library of real files in six formats (tests/userlib.py).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from userlib import make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    music = tmp_path_factory.mktemp("guarantees") / "Music"
    make_user_library(music)
    return music


@pytest.fixture
def music(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "Music", symlinks=True)
    return tmp_path / "Music"


def moodmap(*args: str, code: int = 0) -> str:
    """The installed program; its exit code must be ``code``; returns what it printed."""
    done = subprocess.run([MOODMAP, *args], capture_output=True, text=True, timeout=300)
    said = done.stdout + done.stderr
    assert done.returncode == code, f"moodmap {' '.join(args)} → {done.returncode}\n{said}"
    assert "Traceback" not in said
    return said


def files_of(folder: Path) -> dict[Path, tuple[str, int]]:
    """Every file under ``folder``: its bytes' sha256 and its modification time."""
    return {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def indexed(db: Path) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT id, path, valence, arousal FROM songs ORDER BY id").fetchall()
    finally:
        connection.close()


def mood_tags(path: Path) -> dict[str, str]:
    from moodmap.library.tags import read_mood_tags

    return read_mood_tags(path)


# Files ---------------------------------------------------------------------------------------

def test_a_scan_without_write_tags_changes_no_file(music, tmp_path):
    before = files_of(music)
    moodmap("scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--jobs", "1")
    assert files_of(music) == before


def test_tagging_keeps_each_files_permissions(music, tmp_path):
    modes = {}
    for i, path in enumerate(sorted(p for p in music.rglob("*") if p.is_file())):
        path.chmod((0o640, 0o604, 0o664)[i % 3])
        modes[path] = path.stat().st_mode
    moodmap("scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--write-tags", "--jobs", "1")
    assert all("VALENCE" in mood_tags(p) for p in modes)
    assert {p: p.stat().st_mode for p in modes} == modes


def test_a_player_reading_a_song_while_it_is_tagged_reads_the_old_file_whole(music, tmp_path):
    songs = sorted(p for p in music.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in songs}
    handles = {p: open(p, "rb") for p in songs}  # a player that opened each file before the tagging
    try:
        moodmap("scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--write-tags", "--jobs", "1")
        assert all(p.read_bytes() != before[p] for p in songs)  # every file got its tags …
        assert {p: h.read() for p, h in handles.items()} == before  # … by a new file replacing the old one
    finally:
        for handle in handles.values():
            handle.close()


def test_a_tag_write_that_would_change_the_audio_leaves_the_file_untouched(music, monkeypatch):
    """Proof by sabotage: a tag writer that damages one audio byte is caught, the song stays as it was."""
    from moodmap.library import tags
    from moodmap.core.errors import MoodmapError

    real_save = tags._save

    def damaging_save(handle, *rest) -> None:
        real_save(handle, *rest)
        with open(handle.filename, "r+b") as written:  # one byte in the middle of the audio
            written.seek(os.path.getsize(handle.filename) * 2 // 3)
            byte = written.read(1)
            written.seek(-1, os.SEEK_CUR)
            written.write(bytes([byte[0] ^ 0xFF]))

    monkeypatch.setattr(tags, "_save", damaging_save)
    for song in sorted(p for p in music.rglob("*") if p.suffix in (".mp3", ".flac", ".ogg", ".m4a", ".wav")):
        before = song.read_bytes()
        with pytest.raises(MoodmapError, match="changed the audio payload"):
            tags.write_mood_tags(song, {"VALENCE": "0.500", "AROUSAL": "0.500"})
        assert song.read_bytes() == before, song
    assert sorted(p.name for p in music.rglob(".*")) == []  # no copy left beside the songs


def test_tagging_removes_only_its_own_leftover_copies(music, tmp_path):
    song = next(music.rglob("*.flac"))
    theirs = [song.parent / ".mix.partial", song.parent / f".{song.name}.partial.txt"]  # another program's
    for path in theirs:
        path.write_bytes(b"a download in progress")
    ours = song.parent / f".{song.name}.999999999.abc123.partial"  # what a killed moodmap left beside the song
    ours.write_bytes(b"a copy")
    moodmap("scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--write-tags", "--jobs", "1")
    assert all(path.read_bytes() == b"a download in progress" for path in theirs) and not ours.exists()


# Undo ----------------------------------------------------------------------------------------

def test_a_song_moved_after_tagging_can_still_be_untagged(music, tmp_path):
    import mutagen

    db = str(tmp_path / "lib.sqlite")
    song = next(music.rglob("*.flac"))
    before = mutagen.File(str(song)).tags.pprint()
    moodmap("scan", str(music), "--db", db, "--write-tags", "--jobs", "1")
    moved = music / "Artist A" / "Renamed.flac"
    song.rename(moved)
    assert "1 moved" in moodmap("scan", str(music), "--db", db, "--jobs", "1")
    assert "6 files restored" in moodmap("untag", "--db", db)
    assert mutagen.File(str(moved)).tags.pprint() == before and not mood_tags(moved)


def test_untag_dry_run_changes_no_file_and_no_journal(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    moodmap("scan", str(music), "--db", str(db), "--write-tags", "--jobs", "1")
    files, index = files_of(music), hashlib.sha256(db.read_bytes()).hexdigest()
    assert "6 files would be restored (dry run: nothing changed)" in moodmap("untag", "--db", str(db), "--dry-run")
    assert files_of(music) == files and hashlib.sha256(db.read_bytes()).hexdigest() == index
    assert "6 files restored" in moodmap("untag", "--db", str(db))


# The index -----------------------------------------------------------------------------------

@pytest.fixture
def two_folders(music, tmp_path) -> tuple[Path, Path, str]:
    """``Music`` and ``Music 2`` (a sibling whose name starts with the first's), both indexed."""
    other = tmp_path / "Music 2"
    other.mkdir()
    for song in sorted(p for p in music.rglob("*") if p.is_file())[:2]:
        song.rename(other / song.name)
    db = str(tmp_path / "lib.sqlite")
    moodmap("scan", str(music), str(other), "--db", db, "--jobs", "1")
    assert len(indexed(Path(db))) == 6
    return music, other, db


def test_a_scan_keeps_songs_of_other_folders_even_when_their_files_are_gone(two_folders):
    music, other, db = two_folders
    before = indexed(Path(db))
    shutil.rmtree(other)  # another share, unmounted
    assert "0 removed from the index" in moodmap("scan", str(music), "--db", db, "--jobs", "1")
    assert indexed(Path(db)) == before


def test_a_scan_tags_only_the_files_under_its_folders(two_folders):
    music, other, db = two_folders
    before = files_of(other)
    assert "4 files tagged" in moodmap("scan", str(music), "--db", db, "--write-tags", "--jobs", "1")
    assert files_of(other) == before


def test_an_emptied_share_holding_few_songs_is_refused_all_the_same(two_folders):
    music, other, db = two_folders
    before = indexed(Path(db))
    shutil.rmtree(other)
    other.mkdir()  # the mount point of a share that is not mounted: there, and empty
    out = moodmap("scan", str(other), "--db", db, "--jobs", "1", code=2)
    assert "2 of the 6 indexed songs" in out and "no audio file was found there" in out
    assert indexed(Path(db)) == before


def test_untag_of_one_folder_restores_only_that_folder(two_folders):
    music, other, db = two_folders
    moodmap("scan", str(music), str(other), "--db", db, "--write-tags", "--jobs", "1")
    tagged = files_of(other)
    assert "4 files restored" in moodmap("untag", str(music), "--db", db)
    assert files_of(other) == tagged and all("VALENCE" in mood_tags(p) for p in tagged)


@pytest.mark.parametrize("command", [["playlist"], ["map", "-o", "map.html"], ["library", "stats"],
                                     ["library", "check"], ["library", "prune"], ["untag"], ["serve"]])
def test_a_command_given_an_index_that_is_not_there_creates_nothing(tmp_path, command):
    command = [str(tmp_path / part) if part == "map.html" else part for part in command]
    out = moodmap(*command, "--db", str(tmp_path / "library.sqlite"), code=2)
    assert "no library index here" in out
    assert list(tmp_path.iterdir()) == []


def test_a_moved_song_keeps_its_id_and_its_mood(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    moodmap("scan", str(music), "--db", str(db), "--jobs", "1")
    song = next(music.rglob("*.ogg"))
    before = {Path(path).name: (song_id, valence, arousal) for song_id, path, valence, arousal in indexed(db)}
    song.rename(music / "Artist B" / song.name)
    assert "0 analysed, 5 unchanged, 1 moved" in moodmap("scan", str(music), "--db", str(db), "--jobs", "1")
    after = {Path(path).name: (song_id, valence, arousal) for song_id, path, valence, arousal in indexed(db)}
    assert after == before and str(music / "Artist B" / song.name) in {row[1] for row in indexed(db)}


def test_watch_never_reads_a_song_still_being_copied(tmp_path):
    import time

    from helpers import copy_slowly, tone, write_audio

    music, db = tmp_path / "music", tmp_path / "lib.sqlite"
    music.mkdir()
    write_audio(music / "first.flac", tone(12.0))
    data = write_audio(tmp_path / "slow.wav", tone(12.0, freqs=(260.0,))).read_bytes()
    log = open(tmp_path / "watch.out", "w+")
    watcher = subprocess.Popen([MOODMAP, "scan", str(music), "--db", str(db), "--watch", "--settle", "2", "--jobs", "1"],
                               stdout=log, stderr=subprocess.STDOUT)

    def indexed_names() -> set[str]:
        if not db.exists():  # connecting would make an empty file where the index goes
            return set()
        try:
            return {Path(row[1]).name for row in indexed(db)}
        except sqlite3.OperationalError:  # not made yet
            return set()

    def wait_for(name: str) -> None:
        deadline = time.monotonic() + 60
        while name not in indexed_names():
            assert time.monotonic() < deadline and watcher.poll() is None, Path(log.name).read_text()
            time.sleep(0.2)

    try:
        wait_for("first.flac")
        copy_slowly(data, music / "slow.wav")
        wait_for("slow.wav")
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
        log.close()
    said = (tmp_path / "watch.out").read_text()
    assert "moodmap: failed" not in said and " 1 failed" not in said and " 1 analysed" in said, said


# Playlists -----------------------------------------------------------------------------------

def test_all_moods_removes_its_own_playlist_of_a_vanished_mood_but_not_one_the_user_edited(tmp_path):
    from helpers import write_library_db

    db = write_library_db(tmp_path, songs=120)
    folder = tmp_path / "Playlists"
    first = moodmap("playlist-folder", "--all-moods", "--db", str(db), "--to", str(folder))
    assert "12 written" in first
    edited, untouched = folder / "moodmap - calm.m3u8", folder / "moodmap - sad.m3u8"
    edited.write_text(edited.read_text(encoding="utf-8") + "# my favourite\n", encoding="utf-8")
    mine = edited.read_text(encoding="utf-8")
    connection = sqlite3.connect(db)
    with connection:  # the library no longer has a calm or a sad song
        connection.execute("DELETE FROM songs WHERE emotion IN ('calm', 'sad')")
    connection.close()
    out = moodmap("playlist-folder", "--all-moods", "--db", str(db), "--to", str(folder))
    assert "1 removed" in out and "1 left alone" in out, out
    assert not untouched.exists() and edited.read_text(encoding="utf-8") == mine


GUARANTEES = Path(__file__).resolve().parents[1] / "docs" / "reference" / "guarantees.md"
NAMED_TEST = re.compile(r"(test_\w+\.py)::(test_\w+)")


def test_every_promise_names_a_test_that_exists():
    """docs/reference/guarantees.md is only worth what its third column is: each row names at least one test,
    and each test it names is defined in the file it names (a renamed test breaks the table)."""
    rows = [line for line in GUARANTEES.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| promise") and line.count("|") >= 5]
    assert len(rows) > 100
    missing = []
    for row in rows:
        named = NAMED_TEST.findall(row.split("|")[3])
        if not named:
            missing.append(f"names no test: {row[:90]}")
        for file, name in named:
            path = Path(__file__).parent / file
            if not path.exists() or not re.search(rf"^(async )?def {name}\(", path.read_text(encoding="utf-8"), re.M):
                missing.append(f"{file}::{name} does not exist")
    assert not missing, "\n".join(missing)


WHERE = re.compile(r"`([a-z_/]+):([A-Za-z_][\w.]*)")


def test_every_promise_says_where_the_code_keeps_it_and_that_place_exists():
    """The second column sends a reader to the code that keeps each promise (``library/scan:_plan``,
    ``web/limits:BodyLimit``): each place must be there, or the table points at code that moved."""
    import importlib

    rows = [line for line in GUARANTEES.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| promise") and line.count("|") >= 5]
    places = [place for row in rows for place in WHERE.findall(row.split("|")[2])]
    assert len(places) > 100
    missing = []
    source = Path(importlib.import_module("moodmap").__file__).parent
    for module, name in places:
        if not (source / f"{module}.py").is_file():  # not a 0.1 path that moodmap._moved still answers
            missing.append(f"{module}:{name}: no src/moodmap/{module}.py")
            continue
        try:
            found = importlib.import_module("moodmap." + module.replace("/", "."))
            for part in name.split("."):
                declared = getattr(found, "model_fields", {})  # a pydantic model's field is no attribute
                found = declared[part] if part in declared else getattr(found, part)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{module}:{name}: {exc}")
    assert not missing, "\n".join(missing)
