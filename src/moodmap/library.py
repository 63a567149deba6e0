"""The library index: one SQLite row per song (WAL), what ``moodmap.scan`` keeps up to date
and playlists, the map, the web app and ``library`` commands read.
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from . import __version__
from .errors import Failure, MoodmapError

SCHEMA = """
CREATE TABLE IF NOT EXISTS songs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    title TEXT, artist TEXT, album TEXT, genre TEXT, duration REAL,
    valence REAL NOT NULL, arousal REAL NOT NULL,
    valence_spread REAL, arousal_spread REAL,
    quadrant TEXT, emotion TEXT NOT NULL,
    model TEXT NOT NULL, model_sha TEXT NOT NULL,
    timeline TEXT,
    analysed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS songs_fingerprint ON songs (fingerprint);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, scanned_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    error TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL,
    version TEXT, model TEXT, model_sha TEXT  -- the moodmap and model it failed under; NULL: before schema 3
);
CREATE TABLE IF NOT EXISTS tag_journal (
    path TEXT NOT NULL, key TEXT NOT NULL,
    original TEXT,         -- the value before moodmap first wrote this key; NULL: the key was not there
    written TEXT NOT NULL, -- what moodmap wrote last
    at TEXT NOT NULL,
    PRIMARY KEY (path, key)
);
"""
# Columns later schemas added to a table CREATE … IF NOT EXISTS leaves as it was: table → (column, type).
ADDED_COLUMNS = {"failures": [("version", "TEXT"), ("model", "TEXT"), ("model_sha", "TEXT")]}  # 2 → 3
SCHEMA_VERSION = 3  # PRAGMA user_version of an index this moodmap writes; 0 = made before versions were kept
OWN_TABLES = {"songs", "roots", "failures", "tag_journal"}
SQLITE_MAGIC = b"SQLite format 3\x00"
CATALOGUE_COLUMNS = ["id", "path", "title", "artist", "album", "genre", "duration", "valence", "arousal",
                     "valence_spread", "arousal_spread", "quadrant", "emotion", "model"]
EXPORT_COLUMNS = ["path", "title", "artist", "album", "genre", "duration", "valence", "arousal", "valence_spread",
                  "arousal_spread", "quadrant", "emotion", "model", "analysed_at"]


class Library:
    """The SQLite index of one music library."""

    def __init__(self, path: str | Path, writable: bool = True) -> None:
        """Open (``writable``: create or upgrade) the index at ``path``; a file that is not a moodmap
        index, or one from a newer moodmap, is refused before anything is written to it."""
        self.path = Path(path)
        _refuse_foreign_file(self.path)
        if writable:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.row_factory = sqlite3.Row
        version = _schema_version(self.path, self.db)
        if writable:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            if version < SCHEMA_VERSION:
                self._upgrade()

    def _upgrade(self) -> None:
        """Bring an index made by an older moodmap (or a new, empty one) to SCHEMA_VERSION, in place."""
        with self.db:
            self.db.executescript(SCHEMA)  # 0 → 1: a version; 1 → 2: the tag journal (CREATE … IF NOT EXISTS)
            for table, columns in ADDED_COLUMNS.items():  # 2 → 3: what each failure happened under
                present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
                for column, kind in columns:
                    if column not in present:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @classmethod
    def read_only(cls, path: str | Path) -> Library:
        """An existing index opened so that nothing can be written to it, not even SQLite's WAL
        side files where none are there (a dry run)."""
        library = cls.__new__(cls)
        library.path = Path(path)
        _refuse_foreign_file(library.path)
        pending = Path(f"{library.path}-wal").exists()  # a killed writer's log: read it, which needs the side files
        mode = "mode=ro" if pending else "mode=ro&immutable=1"
        library.db = sqlite3.connect(f"{library.path.resolve().as_uri()}?{mode}", uri=True, timeout=30)
        library.db.row_factory = sqlite3.Row
        _schema_version(library.path, library.db)
        return library

    def close(self) -> None:
        self.db.close()

    def count(self) -> int:
        """Songs in the index."""
        return self.db.execute("SELECT COUNT(*) FROM songs").fetchone()[0]

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def songs(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM songs ORDER BY path")]

    def catalogue(self) -> list[dict]:
        """Every song without its timeline: what playlists, maps and the web app work from."""
        columns = ", ".join(CATALOGUE_COLUMNS)
        return [dict(r) for r in self.db.execute(f"SELECT {columns} FROM songs ORDER BY id")]

    def timeline(self, song_id: int) -> list[dict] | None:
        """One song's stored mood over time (``scan --timeline``), or None."""
        row = self.db.execute("SELECT timeline FROM songs WHERE id = ?", (song_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def roots(self) -> list[str]:
        """The music folders ``scan`` has indexed into this database."""
        return [r[0] for r in self.db.execute("SELECT path FROM roots ORDER BY path")]

    def add_root(self, root: Path) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO roots VALUES (?, ?)", (str(root), timestamp()))

    def known(self) -> dict[str, sqlite3.Row]:
        return {r["path"]: r for r in self.db.execute(
            "SELECT path, size, mtime_ns, fingerprint, model_sha, timeline IS NOT NULL AS has_timeline FROM songs")}

    def failures(self) -> dict[str, sqlite3.Row]:
        return {r["path"]: r for r in self.db.execute("SELECT * FROM failures")}

    def save(self, row: dict) -> None:
        """Insert a song, or update it in place: a re-analysed song keeps its id, so ids a user
        has seen (``--song 12``, ``--near 12``) stay valid."""
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        updates = ", ".join(f"{column} = excluded.{column}" for column in row if column not in ("id", "path"))
        with self.db:
            self.db.execute(f"INSERT INTO songs ({columns}) VALUES ({marks}) ON CONFLICT(path) DO UPDATE SET {updates}",
                            list(row.values()))
            self.db.execute("DELETE FROM failures WHERE path = ?", (row["path"],))

    def fail(self, failure: Failure, size: int, mtime_ns: int, model: str, model_sha: str) -> None:
        """Remember why a file could not be indexed, and under which moodmap version and model: it
        is skipped until it changes, either of those does, or --retry-failed."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO failures (path, size, mtime_ns, error, reason, at, version, model, "
                            "model_sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (failure.path, size, mtime_ns, failure.error, failure.reason, timestamp(),
                             __version__, model, model_sha))

    def move(self, old: str, new: str, size: int, mtime_ns: int) -> None:
        with self.db:
            self.db.execute("UPDATE songs SET path = ?, size = ?, mtime_ns = ? WHERE path = ?", (new, size, mtime_ns, old))
            self.db.execute("UPDATE tag_journal SET path = ? WHERE path = ?", (new, old))

    def journal(self, path: str) -> dict[str, tuple[str | None, str]]:
        """What moodmap changed in a file's tags: key → (value before moodmap, value moodmap wrote)."""
        return {r["key"]: (r["original"], r["written"]) for r in self.db.execute(
            "SELECT key, original, written FROM tag_journal WHERE path = ?", (path,))}

    def record_tags(self, path: str, changes: dict[str, tuple[str | None, str]]) -> None:
        """Journal tag writes ({key: (old, new)}); the first original of a key is kept for good."""
        with self.db:
            self.db.executemany(
                "INSERT INTO tag_journal VALUES (?, ?, ?, ?, ?) ON CONFLICT(path, key) DO UPDATE SET "
                "written = excluded.written, at = excluded.at",
                [(path, key, old, new, timestamp()) for key, (old, new) in changes.items()])

    def journaled(self) -> list[str]:
        """Files whose tags moodmap has changed."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT path FROM tag_journal ORDER BY path")]

    def forget_tags(self, path: str, keys: list[str]) -> None:
        with self.db:
            self.db.executemany("DELETE FROM tag_journal WHERE path = ? AND key = ?", [(path, k) for k in keys])

    def refresh(self, path: str, size: int, mtime_ns: int, content: str) -> None:
        """Record a file's new size, time and fingerprint after moodmap itself rewrote its tags."""
        with self.db:
            self.db.execute("UPDATE songs SET size = ?, mtime_ns = ?, fingerprint = ? WHERE path = ?",
                            (size, mtime_ns, content, path))

    def prune(self, paths: list[str]) -> None:
        with self.db:
            self.db.executemany("DELETE FROM songs WHERE path = ?", [(p,) for p in paths])
            self.db.executemany("DELETE FROM failures WHERE path = ?", [(p,) for p in paths])

    def stats(self) -> dict:
        row = self.db.execute("SELECT COUNT(*) AS n, AVG(valence) AS v, AVG(arousal) AS a FROM songs").fetchone()
        by = lambda column: {r[0] or "neutral": r[1] for r in self.db.execute(  # noqa: E731
            f"SELECT {column}, COUNT(*) FROM songs GROUP BY {column} ORDER BY COUNT(*) DESC")}
        return {"songs": row["n"], "mean_valence": row["v"], "mean_arousal": row["a"], "quadrants": by("quadrant"),
                "emotions": by("emotion"), "models": by("model"),
                "failures": self.db.execute("SELECT COUNT(*) FROM failures").fetchone()[0]}

    def check(self) -> dict:
        """What may be wrong with the index: SQLite's integrity check, songs whose files are gone,
        files indexed twice (the same fingerprint under several paths)."""
        integrity = [r[0] for r in self.db.execute("PRAGMA integrity_check")]
        missing = [r[0] for r in self.db.execute("SELECT path FROM songs ORDER BY path") if not os.path.lexists(r[0])]
        duplicates = [r[0].split("\n") for r in self.db.execute(
            "SELECT group_concat(path, char(10)) FROM songs GROUP BY fingerprint HAVING COUNT(*) > 1")]
        return {"integrity": integrity, "missing": missing, "duplicates": duplicates, "songs": self.count()}

    def export_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for row in self.db.execute(f"SELECT {', '.join(EXPORT_COLUMNS)} FROM songs ORDER BY path"):
            writer.writerow(list(row))
        return buffer.getvalue()


def open_library(db_path: str | Path) -> Library:
    """An existing library index (use as ``with open_library(db) as library``); a clear error when
    there is none, never a new empty one by accident."""
    if not Path(db_path).is_file():
        raise MoodmapError(db_path, "no library index here; run `moodmap scan MUSIC --db FILE` first")
    library = Library(db_path, writable=False)  # reading creates no table
    if "songs" not in _tables(library.db):
        library.close()
        raise MoodmapError(db_path, "an empty file, not a library index; run `moodmap scan MUSIC --db FILE` first")
    return library


def _refuse_foreign_file(path: Path) -> None:
    """A file that is there and not SQLite is not ours to open."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise MoodmapError(path, f"cannot read the library index ({exc.strerror})") from None
    if head and head != SQLITE_MAGIC:
        raise MoodmapError(path, "not an SQLite file, so not a moodmap library index; it was not touched")


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _schema_version(path: Path, db: sqlite3.Connection) -> int:
    """The index's schema version; another program's database or a newer moodmap's index is refused."""
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = _tables(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise MoodmapError(path, f"the library index is damaged or not a database ({exc})") from None
    if tables - OWN_TABLES - {"sqlite_sequence"} or (tables and "songs" not in tables):
        db.close()
        raise MoodmapError(path, "another program's database, not a moodmap library index; it was not touched "
                                 "(give --db a file of moodmap's own)")
    if version > SCHEMA_VERSION:
        db.close()
        raise MoodmapError(path, f"made by a newer moodmap (index schema {version}; this one knows up to "
                                 f"{SCHEMA_VERSION}): upgrade moodmap; the index was not touched")
    return version


def in_folders(path: str, folders) -> bool:
    """Whether an indexed ``path`` lies in one of ``folders`` (resolved paths; none given: everywhere)."""
    return not folders or any(path == str(f) or path.startswith(str(f) + os.sep) for f in folders)


@contextlib.contextmanager
def editing(db_path: str | Path, dry_run: bool = False, create: bool = True) -> Iterator[Library]:
    """The index to change (scan, untag, prune), held by this process alone; for a dry run a
    read-only view of it — an empty one where there is none — so that nothing can change.
    Without ``create``, a missing, empty or foreign index is refused like ``open_library``'s."""
    if not create:
        open_library(db_path).close()
    if dry_run:
        with Library.read_only(db_path) if Path(db_path).is_file() else Library(":memory:") as library:
            yield library
        return
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)  # where the index and its lock go
    with _one_writer(db_path), Library(db_path) as library:
        yield library


@contextlib.contextmanager
def _one_writer(db_path: str | Path) -> Iterator[None]:
    """Hold the index's writer lock: a second scan or untag of the same index is refused in one line
    instead of interleaving with the first (they would remove each other's temporary copies)."""
    handle = open(f"{db_path}.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise MoodmapError(db_path, "another moodmap is writing to this index; run this again when it has "
                                    "finished") from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def timestamp() -> str:
    """Now, as the index records times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S")
