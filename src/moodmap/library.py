"""The library index: one SQLite row per song of a music folder, kept up to date incrementally.

``scan_library`` walks a folder, skips files whose size, modification time and model
are unchanged, recognises moved files by a content fingerprint (no re-analysis),
prunes deleted ones, remembers failures (skipped on the next scan unless asked to
retry), and analyses the rest in worker processes. Each result is committed as it
arrives (WAL), so Ctrl-C or kill -9 loses only the songs in flight and a rerun goes on.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .engines import LOCAL, Engine, run_tasks
from .errors import AudioError, MoodmapError
from .models.registry import resolve
from .predict import predict_file
from .presets import DEFAULT_MODEL
from .tags import read_tags

EXTENSIONS = {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".aif", ".aiff"}
FINGERPRINT_BYTES = 1 << 16

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
    error TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL
);
"""
CATALOGUE_COLUMNS = ["id", "path", "title", "artist", "album", "genre", "duration", "valence", "arousal",
                     "valence_spread", "arousal_spread", "quadrant", "emotion", "model"]
EXPORT_COLUMNS = ["path", "title", "artist", "album", "genre", "duration", "valence", "arousal", "valence_spread",
                  "arousal_spread", "quadrant", "emotion", "model", "analysed_at"]


@dataclass
class ScanSummary:
    files: int = 0
    analysed: int = 0
    unchanged: int = 0
    moved: int = 0
    pruned: int = 0
    skipped_failed: int = 0
    tags_written: int = 0
    tag_changes: list[tuple[str, dict]] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False


class Library:
    """The SQLite index of one music library."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

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
            self.db.execute("INSERT OR REPLACE INTO roots VALUES (?, ?)", (str(root), _now()))

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

    def fail(self, path: str, size: int, mtime_ns: int, error: str, reason: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
                            (path, size, mtime_ns, error, reason, _now()))

    def move(self, old: str, new: str, size: int, mtime_ns: int) -> None:
        with self.db:
            self.db.execute("UPDATE songs SET path = ?, size = ?, mtime_ns = ? WHERE path = ?", (new, size, mtime_ns, old))

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
    return Library(db_path)


def iter_audio_files(root: Path) -> Iterator[Path]:
    """Audio files under ``root`` (symlinked folders are not followed, so loops cannot trap the walk)."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in EXTENSIONS:
                yield Path(folder) / name


def fingerprint(path: Path, size: int) -> str:
    """A content fingerprint: size plus the first and last 64 KiB (recognises a moved file)."""
    digest = hashlib.sha1(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_BYTES))
        if size > 2 * FINGERPRINT_BYTES:
            handle.seek(-FINGERPRINT_BYTES, os.SEEK_END)
            digest.update(handle.read(FINGERPRINT_BYTES))
    return digest.hexdigest()


@dataclass(frozen=True)
class AnalyseTask:
    path: str
    size: int
    mtime_ns: int
    fingerprint: str
    model: str
    timeline: bool
    hop: float


def analyse(task: AnalyseTask) -> dict:
    """Worker: tags + prediction of one file, as a row (or a failure record)."""
    try:
        prediction = predict_file(task.path, resolve(task.model).checkpoint, task.model, task.timeline, task.hop)
    except AudioError as exc:
        return {"failed": True, "error": type(exc).__name__, "reason": exc.reason}
    except Exception as exc:  # noqa: BLE001 — one odd file must not stop a library of thousands
        return {"failed": True, "error": "UnexpectedError", "reason": f"{type(exc).__name__}: {exc}"}
    info = read_tags(task.path)
    return {"path": task.path, "fingerprint": task.fingerprint, "size": task.size, "mtime_ns": task.mtime_ns,
            **asdict(info), "valence": prediction.valence, "arousal": prediction.arousal,
            "valence_spread": prediction.valence_spread, "arousal_spread": prediction.arousal_spread,
            "quadrant": prediction.quadrant, "emotion": prediction.emotion, "model": task.model,
            "timeline": json.dumps([asdict(p) for p in prediction.timeline]) if task.timeline else None,
            "analysed_at": _now()}


def crashed(task: AnalyseTask, reason: str) -> dict:
    """The failure record of a file whose worker process died every time it was tried."""
    return {"failed": True, "error": "WorkerCrashed", "reason": reason}


def scan_library(root: str | Path, db_path: str | Path, model: str = DEFAULT_MODEL, jobs: int | None = None,
                 timeline: bool = False, hop: float = 5.0, retry_failed: bool = False,
                 progress: Callable[[int, int], None] | None = None, write_tags: bool = False,
                 dry_run: bool = False, engine: Engine = LOCAL) -> ScanSummary:
    """Bring the index up to date with the folder; returns what was done.

    ``write_tags`` then writes every indexed song's mood into its file (``dry_run``: only
    report what would change) and re-records the file's size, time and fingerprint.
    Analyses run on ``engine``; every row is written here, as it arrives.
    """
    began = time.monotonic()
    root = Path(root).resolve()
    if not root.is_dir():
        raise MoodmapError(root, "not a folder")
    model_sha = resolve(model).sha256
    summary = ScanSummary()
    with Library(db_path) as library:
        library.add_root(root)
        todo = _plan(library, root, model, model_sha, timeline, hop, retry_failed, summary)
        done = summary.files - len(todo)
        if progress:
            progress(done, summary.files)
        try:
            for task, row in run_tasks(analyse, todo, jobs, engine=engine, batch=4, on_crash=crashed):
                if row.get("failed"):
                    library.fail(task.path, task.size, task.mtime_ns, row["error"], row["reason"])
                    summary.failures.append({"path": task.path, "error": row["error"], "reason": row["reason"]})
                else:
                    library.save({**row, "model_sha": model_sha})
                    summary.analysed += 1
                done += 1
                if progress:
                    progress(done, summary.files)
        except KeyboardInterrupt:
            summary.interrupted = True
        if (write_tags or dry_run) and not summary.interrupted:
            _write_tags(library, root, dry_run, summary)
    summary.seconds = time.monotonic() - began
    return summary


def _plan(library: Library, root: Path, model: str, model_sha: str, timeline: bool, hop: float,
          retry_failed: bool, summary: ScanSummary) -> list[AnalyseTask]:
    """Sort the folder's files into unchanged, moved, known failures and work to do; prune the gone."""
    known, failed = library.known(), library.failures()
    present: dict[str, os.stat_result] = {}
    unstatable = 0
    for path in iter_audio_files(root):
        try:
            present[str(path)] = path.stat()
        except OSError as exc:  # a dangling or looping symlink, a file gone since the listing
            error = "MissingFileError" if isinstance(exc, FileNotFoundError) else "UnreadableFileError"
            library.fail(str(path), 0, 0, error, exc.strerror or str(exc))
            summary.failures.append({"path": str(path), "error": error, "reason": exc.strerror or str(exc)})
            unstatable += 1
    summary.files = len(present) + unstatable
    gone = {p: r for p, r in known.items() if p not in present}
    by_fingerprint = {r["fingerprint"]: p for p, r in gone.items()}
    todo = []
    for path, st in present.items():
        row = known.get(path)
        if row and (row["size"], row["mtime_ns"], row["model_sha"]) == (st.st_size, st.st_mtime_ns, model_sha) \
                and (row["has_timeline"] or not timeline):
            summary.unchanged += 1
            continue
        failure = failed.get(path)
        if failure and not retry_failed and (failure["size"], failure["mtime_ns"]) == (st.st_size, st.st_mtime_ns):
            summary.skipped_failed += 1
            continue
        try:
            content = fingerprint(Path(path), st.st_size)
        except OSError as exc:
            library.fail(path, st.st_size, st.st_mtime_ns, "UnreadableFileError", exc.strerror or str(exc))
            summary.failures.append({"path": path, "error": "UnreadableFileError", "reason": str(exc)})
            continue
        old = by_fingerprint.pop(content, None)
        if old is not None and row is None and gone[old]["model_sha"] == model_sha:
            library.move(old, path, st.st_size, st.st_mtime_ns)
            del gone[old]
            summary.moved += 1
            continue
        todo.append(AnalyseTask(path, st.st_size, st.st_mtime_ns, content, model, timeline, hop))
    library.prune(list(gone))
    summary.pruned = len(gone)
    todo.sort(key=lambda t: t.size, reverse=True)
    return todo


def _write_tags(library: Library, root: Path, dry_run: bool, summary: ScanSummary) -> None:
    """Write each indexed song's mood tags (a copy, verified, then replaced); keep the index in step."""
    from .tags import mood_values, write_mood_tags

    for row in library.songs():
        path = Path(row["path"])
        if root not in path.parents or not path.exists():
            continue
        values = mood_values(row["valence"], row["arousal"], row["emotion"], row["quadrant"], row["model"])
        try:
            changes = write_mood_tags(path, values, dry_run)
        except (MoodmapError, OSError) as exc:
            summary.failures.append({"path": str(path), "error": "TagWriteError", "reason": str(exc)})
            continue
        if not changes:
            continue
        summary.tag_changes.append((str(path), changes))
        if not dry_run:
            st = path.stat()
            library.refresh(str(path), st.st_size, st.st_mtime_ns, fingerprint(path, st.st_size))
            summary.tags_written += 1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
