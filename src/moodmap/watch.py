"""A library kept current by itself: rescan the folders as files arrive, change or go (``scan --watch``).

The folders are watched with watchdog (inotify on Linux). A changed path is left alone
until its size and modification time have stood still for ``settle`` seconds — a song
still being copied is not analysed half-written — then the folders are rescanned with
the still-growing files excluded, so the rescan does only the new work (unchanged files
cost a stat each) and keeps every guarantee of ``scan_library``: moves recognised,
removals only under the folders, mass removals refused. A rescan that fails (an
unmounted share refused, a full disk) is reported and the watch goes on.
"""
from __future__ import annotations

import glob
import os
import queue
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import MoodmapError
from .scan import EXTENSIONS, ScanSummary, music_folders, scan_library

TICK = 0.5  # seconds between looks at the changed paths


class Changes:
    """Paths that changed, each with the (size, mtime) it had when last looked at and since when."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self.seen: dict[str, tuple[tuple[int, int] | None, float]] = {}

    def touch(self, path: str) -> None:
        if Path(path).suffix.lower() in EXTENSIONS or not Path(path).suffix:  # a file, or perhaps a folder
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


def watch_library(roots: str | Path | Sequence[str | Path], db_path: str | Path, settle: float = 2.0,
                  report: Callable[[ScanSummary | MoodmapError], None] = lambda _: None,
                  stop: Callable[[], bool] = lambda: False, exclude: Sequence[str] = (), **scan_options) -> None:
    """Scan ``roots`` now, then again whenever files under them settle after a change, until
    ``stop()`` says so (or Ctrl-C). Each rescan's summary, or the error that stopped it, goes to ``report``."""
    from watchdog.observers import Observer

    folders = music_folders(roots)
    report(_rescan(folders, db_path, exclude, scan_options))
    events: queue.SimpleQueue[str] = queue.SimpleQueue()
    observer = Observer()
    for folder in folders:
        observer.schedule(_Handler(events), str(folder), recursive=True)
    observer.start()
    changes = Changes(settle)
    try:
        while not stop():
            time.sleep(TICK)
            while not events.empty():
                changes.touch(events.get())
            settled, moving = changes.split()
            if settled:
                report(_rescan(folders, db_path, (*exclude, *_relative(moving, folders)), scan_options))
                changes.forget(settled)
    finally:
        observer.stop()
        observer.join(timeout=10)


def _rescan(folders: list[Path], db_path, exclude: Sequence[str], options: dict) -> ScanSummary | MoodmapError:
    try:
        return scan_library(folders, db_path, exclude=exclude, **options)
    except MoodmapError as exc:
        return exc


def _relative(paths: list[str], folders: list[Path]) -> list[str]:
    """Exclusion patterns for files still changing: their paths below the watched folder."""
    patterns = []
    for path in paths:
        for folder in folders:
            if Path(path).is_relative_to(folder):
                patterns.append(glob.escape(Path(path).relative_to(folder).as_posix()))
    return patterns


class _Handler:
    """watchdog's callback: every path an event names goes into the queue (moves: both ends)."""

    def __init__(self, events: queue.SimpleQueue) -> None:
        self.events = events

    def dispatch(self, event) -> None:
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self.events.put(os.fsdecode(path))
