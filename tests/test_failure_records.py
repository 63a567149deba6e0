"""A failure in the library index is the file's, and only for the moodmap and model it met:
an error in moodmap itself is reported and never held against a file, and a file that failed
under another moodmap version or model is tried again — through the CLI, as a user scans."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import moodmap
import moodmap.inference.predict  # noqa: F401  bound to the real logmel before a test breaks features.logmel: imported
# first inside that patch, predict's own `logmel` (timelines) stayed broken for every later test of the process
from helpers import tone, write_audio
from moodmap.cli import app
from moodmap.library.index import SCHEMA_VERSION


@pytest.fixture
def music(tmp_path) -> Path:
    """Two songs and one file that is not audio at all."""
    folder = tmp_path / "Music"
    folder.mkdir()
    write_audio(folder / "a.flac", tone(12.0))
    write_audio(folder / "b.wav", tone(12.0, freqs=(330.0,)))
    (folder / "broken.mp3").write_bytes(b"ID3" + b"\x00" * 500)
    return folder


def scan(music: Path, db: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["scan", str(music), "--db", str(db), "--jobs", "1", *args])
    assert result.exit_code == code, result.output
    return result.output


def failures(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as connection:
        return {Path(row[0]).name: row[1:] for row in connection.execute(
            "SELECT path, error, version, model, model_sha FROM failures")}


def songs(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return sorted(Path(p).name for (p,) in connection.execute("SELECT path FROM songs"))


def test_an_error_in_moodmap_is_reported_and_never_recorded_as_the_files_failure(music, tmp_path, monkeypatch):
    from moodmap.core import features

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in the feature code")

    db = tmp_path / "lib.sqlite"
    with monkeypatch.context() as patch:
        patch.setattr(features, "logmel", broken)
        out = scan(music, db, code=1)
    internal = [line for line in out.splitlines() if line.startswith("moodmap: internal error")]
    assert any("a.flac" in line and "RuntimeError: a bug in the feature code" in line for line in internal), out
    assert any("b.wav" in line for line in internal), out
    assert internal[-1].startswith("moodmap: internal error: 2 files") and "please report it" in internal[-1], out
    assert set(failures(db)) == {"broken.mp3"}  # the file's own fault is still recorded
    assert songs(db) == []
    out = scan(music, db)  # the bug fixed: the two songs are analysed, not skipped as failed before
    assert "3 files: 2 analysed" in out and "1 skipped (failed before" in out, out
    assert songs(db) == ["a.flac", "b.wav"]


def test_with_debug_an_error_in_moodmap_shows_its_traceback(music, tmp_path, monkeypatch):
    from moodmap.core import features

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in the feature code")

    monkeypatch.setattr(features, "logmel", broken)
    monkeypatch.setenv("MOODMAP_DEBUG", "1")
    result = CliRunner().invoke(app, ["scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--jobs", "1"])
    assert isinstance(result.exception, RuntimeError), result.output
    assert "a bug in the feature code" in str(result.exception)


def test_a_failure_records_the_moodmap_version_and_model_it_happened_under(music, tmp_path):
    from moodmap.inference.registry import identify
    from moodmap.research.presets import DEFAULT_MODEL

    db = tmp_path / "lib.sqlite"
    scan(music, db)
    assert failures(db) == {"broken.mp3": ("DecodeError", moodmap.__version__, DEFAULT_MODEL,
                                           identify(DEFAULT_MODEL).sha256)}


@pytest.mark.parametrize("column,before", [("version", "0.0.1"), ("model_sha", "0" * 64)])
def test_a_file_that_failed_under_another_version_or_model_is_tried_again(music, tmp_path, column, before):
    db = tmp_path / "lib.sqlite"
    scan(music, db)
    assert "0 analysed, 2 unchanged, 0 moved, 0 removed from the index, 0 failed, 1 skipped" in scan(music, db)
    with sqlite3.connect(db) as connection:
        connection.execute(f"UPDATE failures SET {column} = ?", (before,))
    out = scan(music, db)  # as after an upgrade of moodmap, or with another model
    assert "0 analysed, 2 unchanged, 0 moved, 0 removed from the index, 1 failed, 0 skipped" in out, out
    assert failures(db)["broken.mp3"][1] == moodmap.__version__  # recorded again, under what it failed now
    assert "1 skipped (failed before" in scan(music, db)


OLD_FAILURES = """
CREATE TABLE failures (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    error TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL
);"""  # as schema 2 had it; its other tables are unchanged since


def test_an_index_whose_failures_name_no_version_is_upgraded_and_they_are_tried_again(music, tmp_path):
    """Failures written before they named their version may be a bug's (every file failed
    alike), so the upgraded index lets the next scan try them once more."""
    from moodmap.library.index import SCHEMA

    db = tmp_path / "lib.sqlite"
    with sqlite3.connect(db) as connection:  # a schema-2 index where an old moodmap failed every file
        connection.executescript(OLD_FAILURES + SCHEMA)
        for name in ("a.flac", "b.wav", "broken.mp3"):
            st = (music / name).stat()
            connection.execute("INSERT INTO failures VALUES (?, ?, ?, 'UnexpectedError', 'KeyError: 3', 'then')",
                               (str(music / name), st.st_size, st.st_mtime_ns))
        connection.execute("PRAGMA user_version = 2")
    connection.close()
    out = scan(music, db)
    assert "3 files: 2 analysed" in out and "1 failed, 0 skipped" in out, out
    assert songs(db) == ["a.flac", "b.wav"]
    assert failures(db)["broken.mp3"][:2] == ("DecodeError", moodmap.__version__)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
