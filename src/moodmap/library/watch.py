"""A library kept current by itself: rescan the folders as files arrive, change or go (``scan --watch``).

The folders are watched with watchdog (inotify on Linux). Only what can change a file counts:
created, written, moved and deleted — not a file opened or read (the rescans' own reads), so a
quiet library costs no work. A changed path is left alone until its size and modification
time have stood still for ``settle`` seconds — a song still being copied is not analysed
half-written — and then only if the index does not already hold it as it is now (moodmap's
own tag writes are recorded as they are made, so they start nothing). The work is a rescan
with the still-changing files excluded: it does only the new work (unchanged files cost a
stat each) and keeps every guarantee of ``scan_library``, moves included — they are decided
by the scan's own plan, never here. For a move seen in pieces to be one, two things wait up
to ``grace`` seconds: a song whose file went stays in the index (the scan's ``keep_gone``)
while anything is still settling or its new name may still come (moved out and back, copied
then deleted), and a new file with the content of an indexed song that is still there waits
for that original to go (a copy is analysed as a copy once ``grace`` has passed). A rescan
that fails (an unmounted share refused, a full disk) is reported and the watch goes on.
"""
from __future__ import annotations

import glob
import os
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..core.checksums import fingerprint
from ..core.engines import default_jobs
from ..core.errors import MoodmapError
from .index import open_library
from .scan import EXTENSIONS, ScanSummary, iter_audio_files, music_folders, scan_library

TICK = 0.5  # seconds between looks at the changed paths
GRACE = 60.0  # seconds a vanished song stays indexed, and a copy waits for its original to go
CHANGING = {"created", "modified", "closed", "moved", "deleted"}  # not opened, closed_no_write: a read


class Changes:
    """Paths that changed, each with the (size, mtime) it had when last looked at and since when."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self.seen: dict[str, tuple[tuple[int, int] | None, float]] = {}

    def touch(self, path: str) -> None:
        self.seen[path] = (_signature(path), time.monotonic())

    def split(self) -> tuple[list[str], list[str]]:
        """(settled, still changing): a path is settled when it looked the same for ``settle`` seconds."""
        now, settled, moving = time.monotonic(), [], []
        for path, (signature, since) in list(self.seen.items()):
            current = _signature(path)
            if current != signature:
                self.seen[path] = (current, now)
                moving.append(path)
            elif now - since >= self.settle:
                settled.append(path)
            else:
                moving.append(path)
        return settled, moving

    def forget(self, paths: Sequence[str]) -> None:
        for path in paths:
            self.seen.pop(path, None)


def _signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # gone (or not yet there)
    return st.st_size, st.st_mtime_ns


class Index:
    """What the index holds now: each song's (size, mtime) and fingerprint, and each recorded failure's."""

    def __init__(self, db_path: str | Path) -> None:
        self.songs: dict[str, tuple[tuple[int, int], str]] = {}
        self.failed: dict[str, tuple[int, int]] = {}
        self._content: dict[str, list[str]] | None = None  # fingerprint → songs, made when first asked
        try:
            with open_library(db_path) as library:
                self.songs = {p: ((r["size"], r["mtime_ns"]), r["fingerprint"]) for p, r in library.known().items()}
                self.failed = {p: (r["size"], r["mtime_ns"]) for p, r in library.failures().items()}
        except MoodmapError:
            pass  # no index yet (the first scan was refused): everything is new

    def holds(self, path: str) -> bool:
        """Whether the index already knows the file at ``path`` as it is now (a song or a failure)."""
        now = _signature(path)
        return now is not None and now in (self.songs.get(path, (None,))[0], self.failed.get(path))

    def gone(self, path: str) -> list[str]:
        """Indexed songs at or below ``path`` whose files are no longer there."""
        below = path.rstrip(os.sep) + os.sep
        return [p for p in self.songs if (p == path or p.startswith(below)) and not os.path.lexists(p)]

    def original(self, path: str) -> str | None:
        """An indexed song, still there, with the content of the new file at ``path`` (it is a copy)."""
        try:
            content = fingerprint(path, os.stat(path).st_size)
        except OSError:
            return None
        if self._content is None:
            self._content = {}
            for song, (_, known) in self.songs.items():
                self._content.setdefault(known, []).append(song)
        return next((p for p in self._content.get(content, []) if p != path and os.path.exists(p)), None)


def watch_library(roots: str | Path | Sequence[str | Path], db_path: str | Path, settle: float = 2.0,
                  report: Callable[[ScanSummary | MoodmapError], None] = lambda _: None,
                  stop: Callable[[], bool] = lambda: False, exclude: Sequence[str] = (), grace: float = GRACE,
                  **scan_options) -> None:
    """Scan ``roots`` now, then again whenever files under them settle after a change, until
    ``stop()`` says so (or Ctrl-C). Each rescan's summary, or the error that stopped it, goes to ``report``.
    Without ``jobs``, it analyses in ``watch_jobs()`` processes: all cores but one."""
    from watchdog.observers import Observer

    if scan_options.get("jobs") is None:
        scan_options["jobs"] = watch_jobs()

    folders = music_folders(roots)
    events: queue.SimpleQueue[str] = queue.SimpleQueue()
    observer = Observer()
    for folder in folders:  # watched before the first scan: what changes during it is seen after it
        # watchdog annotates schedule with its FileSystemEventHandler class but only calls dispatch(event)
        observer.schedule(_Handler(events), str(folder), recursive=True)  # type: ignore[arg-type]
    observer.start()
    watch = _Watch(folders, db_path, settle, grace, exclude, scan_options)
    try:
        report(watch.rescan((), keep_gone=False))
        while not stop():
            time.sleep(TICK)
            while not events.empty():
                watch.changes.touch(events.get())
            for outcome in watch.step():
                report(outcome)
                if isinstance(outcome, ScanSummary) and outcome.interrupted:
                    raise KeyboardInterrupt  # Ctrl-C during an analysis: the scan stopped cleanly, so does the watch
    finally:
        observer.stop()
        observer.join(timeout=10)


def watch_jobs() -> int:
    """A watcher's default worker count: every core this process may use but one, so that a library
    that keeps changing leaves the machine a core for everything else (one, on one core)."""
    return max(1, default_jobs() - 1)


class _Watch:
    """The watcher's state between ticks: what is settling, which songs went (and when), which
    copies wait for their original to go."""

    def __init__(self, folders: list[Path], db_path, settle: float, grace: float, exclude: Sequence[str],
                 options: dict) -> None:
        self.folders, self.db_path, self.grace, self.exclude, self.options = folders, db_path, grace, exclude, options
        self.changes = Changes(settle)
        self.gone: dict[str, float] = {}  # indexed song → when its file was seen gone
        self.copies: dict[str, tuple[str, float]] = {}  # new file → (the indexed original, since when)

    def step(self) -> list[ScanSummary | MoodmapError]:
        """Look at the changed paths once; rescan when there is work (at most once)."""
        settled, moving = self.changes.split()
        now, work = time.monotonic(), False
        if settled:
            self.changes.forget(settled)
            index = Index(self.db_path)
            for path in settled:
                for song in index.gone(path):
                    self.gone.setdefault(song, now)
                for new in _new_files(path, index):
                    original = index.original(new) if new not in index.songs else None
                    if original is not None:
                        self.copies.setdefault(new, (original, now))
                    else:
                        work = True
        for copy, (original, since) in list(self.copies.items()):
            if not os.path.exists(copy):
                del self.copies[copy]
            elif not os.path.lexists(original) or now - since >= self.grace:
                del self.copies[copy]  # its original went (a move: the scan sees it) or it is a copy to keep
                work = True
        self.gone = {song: since for song, since in self.gone.items() if not os.path.lexists(song)}  # not back
        fresh = any(now - since < self.grace for since in self.gone.values())
        keep_gone = bool(moving or self.copies) or fresh
        if not work and not (self.gone and not keep_gone):
            return []
        outcome = self.rescan(moving, keep_gone)
        if keep_gone:
            indexed = Index(self.db_path).songs
            self.gone = {song: since for song, since in self.gone.items()
                         if song in indexed and not os.path.lexists(song)}
        else:
            self.gone.clear()  # removed, or refused and reported: the next change tries again
        return [outcome]

    def rescan(self, moving: Sequence[str], keep_gone: bool) -> ScanSummary | MoodmapError:
        exclude = (*self.exclude, *_relative([*moving, *self.copies], self.folders))
        try:
            return scan_library(self.folders, self.db_path, exclude=exclude, keep_gone=keep_gone, **self.options)
        except MoodmapError as exc:
            return exc


def _new_files(path: str, index: Index) -> list[str]:
    """Audio files at or below ``path`` that the index does not hold as they are now."""
    if os.path.isdir(path):
        files: Iterable[str] = map(str, iter_audio_files(Path(path)))
    else:
        files = [path] if Path(path).suffix.lower() in EXTENSIONS and os.path.isfile(path) else []
    return [f for f in files if not index.holds(f)]


def _relative(paths: list[str], folders: list[Path]) -> list[str]:
    """Exclusion patterns for files still changing: their paths below the watched folder."""
    patterns = []
    for path in paths:
        for folder in folders:
            if Path(path).is_relative_to(folder):
                patterns.append(glob.escape(Path(path).relative_to(folder).as_posix()))
    return patterns


class _Handler:
    """watchdog's callback: the paths of events that can change a file go into the queue (moves:
    both ends); opening and reading a file (the rescans' own reads) is not a change."""

    def __init__(self, events: queue.SimpleQueue) -> None:
        self.events = events

    def dispatch(self, event) -> None:
        if event.event_type not in CHANGING or (event.is_directory and event.event_type == "modified"):
            return  # a folder's own mtime moves with every file made in it: that file has its own event
        for path in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(path)
            if path and (event.is_directory or Path(path).suffix.lower() in EXTENSIONS):
                self.events.put(path)
