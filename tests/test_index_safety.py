"""The library index is the user's: an older one is upgraded in place; a newer one, a file that is not
SQLite, another program's database (beets' library.db) or an empty file is refused in one line and never
written to; reading creates no table."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import write_library_db
from moodmap.cli import app
from moodmap.library import SCHEMA_VERSION


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_index_from_before_schema_versions_is_upgraded_in_place(tmp_path):
    db = write_library_db(tmp_path, songs=20)
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA user_version = 0")
        rows = connection.execute("SELECT * FROM songs ORDER BY id").fetchall()
    music = tmp_path / "empty music"
    music.mkdir()
    code, out = run("scan", str(music), "--db", str(db))
    assert code == 0, out
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("SELECT * FROM songs ORDER BY id").fetchall() == rows


def _beets_db(path: Path) -> Path:
    beets = pytest.importorskip("beets.library")
    beets.Library(str(path)).items()  # creates beets' own tables
    return path


def _newer(path: Path) -> Path:
    db = write_library_db(path.parent, songs=3)
    connection = sqlite3.connect(db)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()  # the last connection folds the WAL into the file
    return db


@pytest.mark.parametrize("kind,says", [
    ("beets", "another program's database"), ("newer", "made by a newer moodmap"),
    ("text", "not an SQLite file"), ("random", "not an SQLite file")])
@pytest.mark.parametrize("command", ["scan", "playlist", "map", "library stats"])
def test_a_file_that_is_not_ours_is_refused_and_untouched(tmp_path, kind, says, command):
    path = tmp_path / "library.db"
    if kind == "beets":
        _beets_db(path)
    elif kind == "newer":
        path = _newer(path)
    elif kind == "text":
        path.write_text("my notes\n")
    else:
        path.write_bytes(bytes(range(256)) * 40)
    before = digest(path)
    args = {"scan": ["scan", str(tmp_path), "--db", str(path)], "playlist": ["playlist", "--db", str(path)],
            "map": ["map", "--db", str(path), "-o", str(tmp_path / "map.html")],
            "library stats": ["library", "stats", "--db", str(path)]}[command]
    code, out = run(*args)
    said = [line for line in out.splitlines() if not line.startswith("moodmap: note:")]
    assert code == 2 and len(said) == 1 and says in said[0], out
    assert digest(path) == before
    assert not Path(f"{path}-wal").exists()


def test_a_reading_command_creates_no_table(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    code, out = run("playlist", "--db", str(empty))
    assert code == 2 and "not a library index" in out
    assert empty.stat().st_size == 0


def test_a_damaged_index_is_one_line(tmp_path):
    db = write_library_db(tmp_path, songs=200)
    data = bytearray(db.read_bytes())
    data[4096:8192] = bytes(range(256)) * 16  # a page of garbage behind a valid header
    db.write_bytes(bytes(data))
    for args in (["playlist", "--db", str(db), "--mood", "happy"], ["library", "stats", "--db", str(db)]):
        code, out = run(*args)
        said = [line for line in out.splitlines() if not line.startswith("moodmap: note:")]
        assert code == 2 and len(said) == 1 and "damaged" in said[0], out


def test_library_check_and_prune(tmp_path):
    db = write_library_db(tmp_path, songs=10)  # its files are empty placeholders on disk
    files = sorted((tmp_path / "Müsic").rglob("*.flac"))
    for path in files[:3]:
        path.unlink()
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE songs SET fingerprint = 'same' WHERE path IN (?, ?)", (str(files[4]), str(files[5])))
    connection.close()
    code, out = run("library", "check", "--db", str(db))
    assert code == 0 and "10 songs: integrity ok, 3 missing" in out and "1 indexed twice" in out
    assert all(f"missing: {p}" in out for p in files[:3])
    code, out = run("library", "prune", "--db", str(db), "--dry-run")
    assert code == 0 and "3 songs would be removed" in out
    code, out = run("library", "prune", "--db", str(db))
    assert code == 0 and "3 songs removed" in out
    assert "7 songs: integrity ok, 0 missing" in run("library", "check", "--db", str(db))[1]
