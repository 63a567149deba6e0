"""The library index is the user's: an older one is upgraded in place (and marked as moodmap's with
PRAGMA application_id); a newer one, a file that is not SQLite, another program's database (beets'
library.db, a table named songs, another application id) or an empty file is recognised read-only and
refused in one line by every command that takes --db, before anything is written: no journal mode, no
table, no lock file or side file beside it; reading creates no table."""
from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import write_library_db
from moodmap.cli import app
from moodmap.library.index import APPLICATION_ID, SCHEMA, SCHEMA_VERSION

MOODMAP = str(Path(sys.executable).parent / "moodmap")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_index_from_before_schema_versions_is_upgraded_in_place(tmp_path):
    db = write_library_db(tmp_path, songs=20)
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA user_version = 0")
        connection.execute("PRAGMA application_id = 0")
        rows = connection.execute("SELECT * FROM songs ORDER BY id").fetchall()
    music = tmp_path / "empty music"
    music.mkdir()
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA application_id").fetchone()[0] == 0  # as moodmap made them then
    connection.close()
    assert run("library", "stats", "--db", str(db))[0] == 0  # recognised by its tables and columns
    code, out = run("scan", str(music), "--db", str(db))
    assert code == 0, out
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID  # marked from now on
        assert connection.execute("SELECT * FROM songs ORDER BY id").fetchall() == rows


def _foreign(kind: str, path: Path) -> Path:
    """A file moodmap did not make, at ``path``."""
    if kind == "beets":
        beets = pytest.importorskip("beets.library")
        beets.Library(str(path)).items()  # creates beets' own tables
    elif kind in ("songs table", "no tables", "other application"):
        connection = sqlite3.connect(path)
        if kind == "songs table":  # someone's own music database, with a table of moodmap's name
            connection.execute("CREATE TABLE songs (id INTEGER PRIMARY KEY, title TEXT, rating INTEGER)")
            connection.execute("INSERT INTO songs (title, rating) VALUES ('Morning Light', 5)")
            connection.commit()
        elif kind == "no tables":
            connection.execute("PRAGMA user_version = 7")  # a valid SQLite header, nothing in it
        else:
            connection.execute("PRAGMA application_id = 305419896")  # 0x12345678: another program says it is its
            connection.executescript(SCHEMA)  # even with moodmap's tables
        connection.close()
    elif kind == "newer":
        made = write_library_db(path.parent / "made", songs=3)
        connection = sqlite3.connect(made)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        connection.close()  # the last connection folds the WAL into the file
        made.rename(path)
        shutil.rmtree(path.parent / "made")
    elif kind == "empty":
        path.touch()
    elif kind == "text":
        path.write_text("my notes\n")
    else:
        path.write_bytes(bytes(range(256)) * 40)
    return path


KINDS = {"songs table": "not a moodmap index (it has tables songs, not moodmap's columns)",
         "beets": "not a moodmap index (it has tables ", "no tables": "not a moodmap index (an SQLite database "
         "with no tables)", "other application": "not a moodmap index (another program's database, application "
         "id 0x12345678)", "empty": "not a moodmap index (an empty file", "text": "not a moodmap index (not an "
         "SQLite file)", "random": "not a moodmap index (not an SQLite file)", "newer": "made by a newer moodmap"}
COMMANDS = {"scan": ["scan", "{music}"], "scan --dry-run": ["scan", "{music}", "--dry-run"],
            "scan --write-tags": ["scan", "{music}", "--write-tags"], "untag": ["untag"], "playlist": ["playlist"],
            "playlist --mood": ["playlist", "--mood", "happy"], "playlists": ["playlist-folder", "--all-moods", "--to",
                                                                            "{out}"],
            "map": ["map", "-o", "{out}/map.html"], "serve": ["serve"], "library stats": ["library", "stats"],
            "library check": ["library", "check"], "library prune": ["library", "prune"],
            "library export": ["library", "export"], "library failures": ["library", "failures"]}


@pytest.fixture(scope="module")
def foreign_files(tmp_path_factory) -> dict[str, Path]:
    """Each kind of file made once (beets takes a while); tests get copies."""
    folder = tmp_path_factory.mktemp("foreign")
    return {kind: _foreign(kind, folder / kind.replace(" ", "-") / "library.db") for kind in KINDS
            if (folder / kind.replace(" ", "-")).mkdir() or True}


def _place(foreign_files, kind: str, tmp_path: Path) -> Path:
    if not foreign_files[kind].exists():
        pytest.skip(f"no {kind} file here")
    folder = tmp_path / "index"
    folder.mkdir()
    shutil.copy2(foreign_files[kind], folder / "library.db")  # bytes and mtime
    return folder / "library.db"


def _state(path: Path) -> tuple:
    """What must not change: the file's bytes and time, and what lies beside it (-wal, -shm, .lock)."""
    return digest(path), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_moodmap_did_not_make_is_refused_before_anything_is_written(foreign_files, tmp_path, kind, command):
    path = _place(foreign_files, kind, tmp_path)
    (tmp_path / "music").mkdir()
    before = _state(path)
    args = [a.format(music=tmp_path / "music", out=tmp_path / "out") for a in COMMANDS[command]]
    code, out = run(*args, "--db", str(path))
    said = [line for line in out.splitlines() if not line.startswith("moodmap: note:")]
    assert code == 2 and len(said) == 1 and KINDS[kind] in said[0] and str(path) in said[0], out
    assert _state(path) == before  # no journal mode, no table, no lock file, no side file
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_the_installed_scan_refuses_a_file_it_did_not_make(foreign_files, tmp_path, kind):
    path = _place(foreign_files, kind, tmp_path)
    before = _state(path)
    done = subprocess.run([MOODMAP, "scan", str(tmp_path), "--db", str(path), "--write-tags", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.count("\n") == 1 and KINDS[kind] in done.stderr, done.stderr
    assert _state(path) == before


def test_a_new_index_says_it_is_moodmaps_and_is_never_left_empty(tmp_path):
    db = tmp_path / "new" / "library.sqlite"
    code, out = run("scan", str(tmp_path), "--db", str(db))
    assert code == 0, out
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
    assert sorted(p.name for p in db.parent.iterdir()) == ["library.sqlite", "library.sqlite.lock"]


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
