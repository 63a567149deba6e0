"""The library index: one SQLite row per song (WAL), what ``moodmap.library.scan`` keeps up to date
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
import tomllib
from collections.abc import Iterator
from pathlib import Path

from .. import __version__
from ..core.atomic import atomic_path
from ..core.clock import timestamp
from ..core.errors import Failure, MoodmapError, parameter
from .song import CATALOGUE, EXPORT, Song, columns, songs_table_sql

SCHEMA = """
{songs}
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
""".replace("{songs}", songs_table_sql())
# Columns later schemas added to a table CREATE … IF NOT EXISTS leaves as it was: table → (column, type).
ADDED_COLUMNS = {"failures": [("version", "TEXT"), ("model", "TEXT"), ("model_sha", "TEXT")],  # 2 → 3
                 "songs": [("file_id", "TEXT")]}  # 3 → 4
SCHEMA_VERSION = 4  # PRAGMA user_version of an index this moodmap writes; 0 = made before versions were kept
APPLICATION_ID = 0x6D6F6F64  # PRAGMA application_id of an index moodmap made ("mood"); 0: made before it was set
OWN_TABLES = {"songs", "roots", "failures", "tag_journal", "mpd_stickers"}  # mpd_stickers: integrate mpd's
# An index from before APPLICATION_ID is recognised by its tables (OWN_TABLES, no other) and songs' columns.
OWN_SONG_COLUMNS = {"path", "fingerprint", "valence", "arousal", "emotion", "model", "model_sha"}
SQLITE_MAGIC = b"SQLite format 3\x00"
TAG_WRITE_ERROR = "TagWriteError"  # a failure row of a file that was analysed but could not be tagged
NO_INDEX = "no library index here"
CATALOGUE_COLUMNS = list(columns(CATALOGUE))
EXPORT_COLUMNS = list(columns(EXPORT))


class Library:
    """The SQLite index of one music library."""

    def __init__(self, path: str | Path, writable: bool = True) -> None:
        """Open (``writable``: create or upgrade) the index at ``path``; a file that is not a moodmap
        index, or one from a newer moodmap, is refused before anything is written to it."""
        self.path = Path(path)
        if str(path) == ":memory:":  # a dry run's stand-in for an index not made yet
            self.db = sqlite3.connect(":memory:")
            self.db.row_factory = sqlite3.Row
            self.db.executescript(SCHEMA)
            return
        found = index_version(self.path)  # read-only: a file that is not ours is refused untouched
        if found is None:
            if not writable:
                raise MoodmapError(self.path, f"{NO_INDEX}; `moodmap scan MUSIC --db {self.path}` makes one")
            _create(self.path)
            found = (SCHEMA_VERSION, True)
        version, marked = found
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.row_factory = sqlite3.Row
        if writable:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            if version < SCHEMA_VERSION or not marked:
                self._upgrade()

    def _upgrade(self) -> None:
        """Bring an index made by an older moodmap (or a new, empty one) to SCHEMA_VERSION, in place."""
        with self.db:
            self.db.executescript(SCHEMA)  # 0 → 1: a version; 1 → 2: the tag journal (CREATE … IF NOT EXISTS)
            for table, columns in ADDED_COLUMNS.items():  # 2 → 3: what each failure happened under; 3 → 4: file_id
                present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
                for column, kind in columns:
                    if column not in present:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # recognisable as moodmap's from now on

    @classmethod
    def read_only(cls, path: str | Path) -> Library:
        """An existing index opened so that nothing can be written to it, not even SQLite's WAL
        side files where none are there (a dry run)."""
        library = cls.__new__(cls)
        library.path = Path(path)
        if index_version(library.path) is None:
            raise MoodmapError(library.path, NO_INDEX)
        pending = Path(f"{library.path}-wal").exists()  # a killed writer's log: read it, which needs the side files
        mode = "mode=ro" if pending else "mode=ro&immutable=1"
        library.db = sqlite3.connect(f"{library.path.resolve().as_uri()}?{mode}", uri=True, timeout=30)
        library.db.row_factory = sqlite3.Row
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
        columns = self._columns(CATALOGUE_COLUMNS)
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
            "SELECT path, size, mtime_ns, fingerprint, model_sha, timeline IS NOT NULL AS has_timeline, "
            f"{self._columns(['file_id'])} FROM songs")}

    def _columns(self, names: list[str]) -> str:
        """``names`` to SELECT from songs; NULL for a column an older index read as it is lacks."""
        present = {row[1] for row in self.db.execute("PRAGMA table_info(songs)")}
        return ", ".join(name if name in present else f"NULL AS {name}" for name in names)

    def song(self, path: str) -> dict | None:
        """The whole row indexed under ``path``."""
        row = self.db.execute("SELECT * FROM songs WHERE path = ?", (path,)).fetchone()
        return dict(row) if row else None

    def identify(self, files: list[tuple[str, str]]) -> None:
        """Record which file each path resolves to now: (path, FILE_ID)."""
        with self.db:
            self.db.executemany("UPDATE songs SET file_id = ? WHERE path = ?", [(f, p) for p, f in files])

    def failures(self) -> dict[str, sqlite3.Row]:
        """Files that could not be analysed (what a scan skips until they change)."""
        return {r["path"]: r for r in self.db.execute("SELECT * FROM failures WHERE error != ?", (TAG_WRITE_ERROR,))}

    def failure_list(self) -> list[dict]:
        """Every recorded failure, analysis and tag writes alike, oldest first."""
        return [dict(r) for r in self.db.execute("SELECT * FROM failures ORDER BY at, path")]

    def gone_failures(self) -> list[str]:
        """The failure records of files that are no longer there."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT path FROM failures ORDER BY path")
                if not os.path.lexists(r[0])]

    def record_tag_failures(self, roots, failures: list[Failure]) -> None:
        """The files under ``roots`` a scan could not tag, replacing what an earlier scan of them
        recorded (a file since tagged is no longer a failure); an analysis failure is kept as it is."""
        with self.db:
            earlier = [r[0] for r in self.db.execute("SELECT path FROM failures WHERE error = ?", (TAG_WRITE_ERROR,))]
            self.db.executemany("DELETE FROM failures WHERE path = ? AND error = ?",
                                [(p, TAG_WRITE_ERROR) for p in earlier if in_folders(p, roots)])
            for failure in failures:
                try:
                    st = os.stat(failure.path)
                    size, mtime_ns = st.st_size, st.st_mtime_ns
                except OSError:
                    size, mtime_ns = 0, 0
                self.db.execute(
                    "INSERT INTO failures (path, size, mtime_ns, error, reason, at, version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                    "reason = excluded.reason, at = excluded.at, version = excluded.version WHERE error = ?",
                    (failure.path, size, mtime_ns, TAG_WRITE_ERROR, failure.reason, timestamp(), __version__,
                     TAG_WRITE_ERROR))

    def save(self, song: Song | dict) -> None:
        """Insert a song, or update it in place: a re-analysed song keeps its id, so ids a user
        has seen (``--song 12``, ``--near 12``) stay valid. A dict is read as a Song's fields
        (a name that is not one is an error, not a column)."""
        row = (song if isinstance(song, Song) else Song(**song)).row()
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
            self.db.execute("UPDATE songs SET path = ?, size = ?, mtime_ns = ? WHERE path = ?",
                            (new, size, mtime_ns, old))
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

    def refresh(self, path: str, size: int, mtime_ns: int, content: str, file_id: str | None = None) -> None:
        """Record a file's new size, time and fingerprint (and FILE_ID) after moodmap itself rewrote its tags."""
        with self.db:
            self.db.execute("UPDATE songs SET size = ?, mtime_ns = ?, fingerprint = ?, file_id = COALESCE(?, file_id) "
                            "WHERE path = ?", (size, mtime_ns, content, file_id, path))

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
                "failures": self.db.execute("SELECT COUNT(*) FROM failures WHERE error != ?",
                                            (TAG_WRITE_ERROR,)).fetchone()[0],
                "tag_failures": self.db.execute("SELECT COUNT(*) FROM failures WHERE error = ?",
                                                (TAG_WRITE_ERROR,)).fetchone()[0]}

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
    if not Path(db_path).is_file() and index_version(Path(db_path)) is None:  # a folder is refused by the latter
        raise MoodmapError(db_path, f"{NO_INDEX}; `moodmap scan MUSIC --db {db_path}` makes one")
    return Library(db_path, writable=False)  # reading creates no table


def index_version(path: Path) -> tuple[int, bool] | None:
    """The schema version of the moodmap index at ``path`` and whether it carries moodmap's
    application id (None: no file there), read without writing anything — no journal mode, no
    lock file, no side file. Anything else (not SQLite, empty, another program's database, a
    newer moodmap's index) is refused in one line that says what it is."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise _not_ours(path, "a folder") from None
    except OSError as exc:
        raise MoodmapError(path, f"cannot read the library index ({exc.strerror})") from None
    if not head and _is_default(path):  # where moodmap keeps its index unasked: a fresh index, made in its place
        return None
    if not head:
        raise _not_ours(path, "an empty file: moodmap never leaves one; remove it if it is yours to remove")
    if head != SQLITE_MAGIC:
        raise _not_ours(path, "not an SQLite file")
    pending = Path(f"{path}-wal").exists()  # a killed writer's log: reading it needs the side files
    uri = f"{path.resolve().as_uri()}?{'mode=ro' if pending else 'mode=ro&immutable=1'}"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            application_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            columns = {row[1] for row in db.execute("PRAGMA table_info(songs)")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise MoodmapError(path, f"the library index is damaged or not a database ({exc})") from None
    tables -= {"sqlite_sequence"}
    if application_id not in (0, APPLICATION_ID):
        raise _not_ours(path, f"another program's database, application id {application_id:#x}")
    if application_id == 0 and not (tables and tables <= OWN_TABLES and OWN_SONG_COLUMNS <= columns):
        shown = ", ".join(sorted(tables)[:6]) + (", …" if len(tables) > 6 else "")
        what = (f"it has tables {shown}" + (", not moodmap's columns" if tables <= OWN_TABLES else "")
                if tables else "an SQLite database with no tables")
        raise _not_ours(path, what)
    if version > SCHEMA_VERSION:
        raise MoodmapError(path, f"made by a newer moodmap (index schema {version}; this one knows up to "
                                 f"{SCHEMA_VERSION}): upgrade moodmap; the index was not touched")
    return version, application_id == APPLICATION_ID


def _is_default(path: Path) -> bool:
    """Whether ``path`` is the index moodmap uses without --db (an unusable config: no)."""
    try:
        return path.resolve() == index_location()[0].resolve()
    except MoodmapError:
        return False


def _not_ours(path: Path, what: str) -> MoodmapError:
    return MoodmapError(path, f"not a moodmap index ({what}); it was not touched "
                              f"(give {parameter('db')} a moodmap index)")


def _create(path: Path) -> None:
    """A new, empty index, made beside ``path`` and moved there whole: moodmap never leaves an empty
    or half-made file where its index goes."""
    with atomic_path(path) as temp:
        db = sqlite3.connect(temp)
        try:
            db.executescript(SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()


def index_location(given: str | Path | None = None, environ=None) -> tuple[Path, str]:
    """The index a command uses and where that came from: ``given`` (--db), else $MOODMAP_DB, else
    ``library = "…"`` in $XDG_CONFIG_HOME/moodmap/config.toml (relative: to that folder), else
    $XDG_DATA_HOME/moodmap/library.sqlite — by default ~/.local/share/moodmap/library.sqlite."""
    environ = os.environ if environ is None else environ
    if given is not None:
        return Path(given), "from --db"
    if environ.get("MOODMAP_DB"):
        return Path(environ["MOODMAP_DB"]).expanduser(), "from $MOODMAP_DB"
    config = _xdg(environ, "XDG_CONFIG_HOME", ".config") / "moodmap" / "config.toml"
    try:
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        settings = {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MoodmapError(config, f"not a valid TOML config file ({exc})") from None
    except OSError as exc:
        raise MoodmapError(config, f"cannot read the config file ({exc.strerror})") from None
    if "library" in settings:
        value = settings["library"]
        if not isinstance(value, str) or not value.strip():
            raise MoodmapError(config, 'library must be the index\'s path, in quotes: '
                                       'library = "~/music/library.sqlite"')
        return config.parent / Path(value).expanduser(), f"from config {config}"
    return _xdg(environ, "XDG_DATA_HOME", ".local/share") / "moodmap" / "library.sqlite", "default"


def _xdg(environ, name: str, fallback: str) -> Path:
    """An XDG base folder; a relative value is invalid by the spec and ignored."""
    value = environ.get(name, "")
    return Path(value) if os.path.isabs(value) else Path(environ.get("HOME") or Path.home()) / fallback


def file_id(st: os.stat_result) -> str:
    """FILE_ID: which file a path resolves to (device and inode), the same for a symlink and its target
    and for every hard-linked name, so that one file is one song."""
    return f"{st.st_dev}:{st.st_ino}"


def first_name(paths) -> str:
    """The name that stands for a file indexed under several: one that is there and not a symlink,
    else the shortest (then the first in order)."""
    return min(paths, key=lambda p: (not os.path.exists(p), os.path.realpath(p) != p, len(p), p))


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
        with Library.read_only(db_path) if index_version(Path(db_path)) else Library(":memory:") as library:
            yield library
        return
    index_version(Path(db_path))  # a file that is not an index is refused before a lock file is put beside it
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


