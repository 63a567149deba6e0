"""A scan touches only what it scanned: subfolders, empty or unmounted folders, dry runs,
several folders, exclusions, NAS and Mac junk, FIFOs — through the CLI, default model."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moodmap.cli import app
from userlib import make_user_library


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    music = tmp_path_factory.mktemp("scope") / "Music"
    make_user_library(music)
    return music


@pytest.fixture
def music(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "Music")
    return tmp_path / "Music"


def scan(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["scan", *args, "--jobs", "1"])
    assert result.exit_code == code, result.output
    return result.output


def indexed(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT id, path, valence, arousal FROM songs ORDER BY id").fetchall()


def test_a_subfolder_scan_leaves_the_rest_of_the_index_alone(music, tmp_path):
    db = str(tmp_path / "lib.sqlite")
    scan(str(music), "--db", db)
    before = indexed(Path(db))
    out = scan(str(music / "Artist A"), "--db", db)
    assert "3 files: 0 analysed, 3 unchanged, 0 moved, 0 removed from the index" in out
    assert indexed(Path(db)) == before


@pytest.mark.parametrize("how", ["emptied", "unmounted"])
def test_an_empty_or_missing_folder_removes_nothing(music, tmp_path, how):
    db = str(tmp_path / "lib.sqlite")
    scan(str(music), "--db", db)
    before = indexed(Path(db))
    if how == "emptied":  # a NAS share whose mount point is there but empty
        shutil.rmtree(music)
        music.mkdir()
        out = scan(str(music), "--db", db, code=2)
        said = [line for line in out.splitlines() if not line.startswith("moodmap: note:")]
        assert len(said) == 1 and "6 of the 6 indexed songs" in said[0] and "--prune-missing" in said[0], out
    else:
        shutil.rmtree(music)
        out = scan(str(music), "--db", db, code=2)
        assert "not a folder" in out and "scan ━" not in out  # refused before a progress bar
    assert indexed(Path(db)) == before
    if how == "emptied":
        assert "6 removed from the index" in scan(str(music), "--db", db, "--prune-missing")
        assert indexed(Path(db)) == []


@pytest.mark.parametrize("how", ["emptied", "unmounted"])
def test_an_empty_or_missing_folder_among_several_removes_nothing(music, tmp_path, how):
    """`moodmap scan Music nas` with the share unmounted: each folder is judged alone, so the
    music found under the other one does not let the share's songs go."""
    nas = tmp_path / "nas"
    shutil.move(str(music / "Artist B"), nas)  # three songs on the share, three at home
    db = str(tmp_path / "lib.sqlite")
    scan(str(music), str(nas), "--db", db)
    before = indexed(Path(db))
    assert len(before) == 6
    shutil.rmtree(nas)
    if how == "emptied":  # the mount point is there, empty
        nas.mkdir()
        out = scan(str(music), str(nas), "--db", db, code=2)
        said = [line for line in out.splitlines() if not line.startswith("moodmap: note:")]
        assert len(said) == 1 and f"3 of the 6 indexed songs under {nas.resolve()} are missing" in said[0], out
        assert "not mounted?" in said[0] and "--prune-missing" in said[0]
    else:
        assert "not a folder" in scan(str(music), str(nas), "--db", db, code=2)
    assert indexed(Path(db)) == before
    if how == "emptied":
        assert "3 removed from the index" in scan(str(music), str(nas), "--db", db, "--prune-missing")
        assert len(indexed(Path(db))) == 3


def test_many_songs_missing_at_once_need_prune_missing_but_a_few_do_not(music, tmp_path):
    db = str(tmp_path / "lib.sqlite")
    scan(str(music), "--db", db)
    files = sorted(music.rglob("*.*"))
    files[0].unlink()
    assert "1 removed from the index" in scan(str(music), "--db", db)
    for path in files[1:4]:
        path.unlink()
    out = scan(str(music), "--db", db, code=2)
    assert "3 of the 5 indexed songs" in out and "more than 20%" in out
    assert len(indexed(Path(db))) == 5
    assert "3 removed from the index" in scan(str(music), "--db", db, "--prune-missing")


def _state(folder: Path, db: Path) -> dict:
    files = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}
    index = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in db.parent.glob(db.name + "*")}
    return {"files": files, "index": index}


def test_a_dry_run_changes_nothing_at_all(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    out = scan(str(music), "--db", str(db), "--write-tags", "--dry-run")
    assert not db.exists()  # not even an empty index
    assert "would set" in out and "dry run" in out and "6 analysed (not stored)" in out
    scan(str(music), "--db", str(db))
    moved = music / "Artist A" / "Album" / "02 Song 2.flac"
    moved.rename(music / "moved.flac")
    next(music.rglob("*.ogg")).unlink()
    shutil.copy(music / "moved.flac", music / "copy.flac")
    before = _state(music, db)
    out = scan(str(music), "--db", str(db), "--write-tags", "--dry-run")
    assert "1 to move, 1 to remove from the index" in out and "would set" in out
    assert _state(music, db) == before


def test_several_folders_exclusions_and_junk(music, tmp_path):
    other = tmp_path / "nas" / "music"
    shutil.copytree(music / "Artist B", other / "Artist B")
    shutil.rmtree(music / "Artist B")
    song = next(music.rglob("*.flac"))
    junk = [music / "._01 Song.mp3", music / "@eaDir" / "x.mp3", other / "#recycle" / "y.flac",
            other / ".Trash-1000" / "files" / "z.ogg", music / ".AppleDouble" / "w.m4a"]
    for path in junk:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00\x05\x16\x07" + b"junk" * 100)
    shutil.copytree(music / "Artist A", music / "Podcasts")
    db = str(tmp_path / "lib.sqlite")
    out = scan(str(music), str(other), "--db", db, "--exclude", "Podcasts")
    assert "6 files: 6 analysed" in out and "0 failed" in out
    paths = {row[1] for row in indexed(Path(db))}
    assert str(song) in paths and any(p.startswith(str(other)) for p in paths)
    assert not any("Podcasts" in p or "junk" in p or "@eaDir" in p for p in paths)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_reported_not_waited_on(music, tmp_path):
    os.mkfifo(music / "pipe.mp3")
    out = scan(str(music), "--db", str(tmp_path / "lib.sqlite"))
    assert "pipe.mp3: not a regular file" in out and "7 files: 6 analysed" in out


def test_excluding_an_indexed_file_leaves_it_in_the_index(music, tmp_path):
    db = str(tmp_path / "lib.sqlite")
    scan(str(music), "--db", db)
    before = indexed(Path(db))
    assert "0 removed from the index" in scan(str(music), "--db", db, "--exclude", "*.wav")
    assert indexed(Path(db)) == before


def test_a_second_scan_of_one_index_is_refused_while_the_first_runs(music, tmp_path):
    import fcntl

    db = tmp_path / "lib.sqlite"
    with open(f"{db}.lock", "a+") as held:  # what a running scan holds
        fcntl.flock(held, fcntl.LOCK_EX)
        out = scan(str(music), "--db", str(db), code=2)
        assert "another moodmap is writing to this index" in out and not db.exists()
        assert "dry run" in scan(str(music), "--db", str(db), "--dry-run")  # reading is fine meanwhile
    assert "6 analysed" in scan(str(music), "--db", str(db))
