"""Mood tags across a library: written by policy, journaled in the index, undone by ``untag``.

A mood tag moodmap did not write is the user's: by default (``mood_tag="keep"``) it stays,
and only VALENCE, AROUSAL, MOODMAP_QUADRANT and MOODMAP_MODEL are written beside it;
``"replace"`` overwrites it, ``"skip"`` writes no MOOD at all. Every value moodmap changes
is journaled in the index (the value before moodmap first touched the key, and what it
wrote), so ``untag`` can put each file's tags back as they were — except a tag the user
changed again after moodmap wrote it, which is theirs and is left alone.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mutagen import MutagenError

from ..core.checksums import fingerprint
from ..core.errors import Failure, MoodmapError, TagWriteError, one_line, parameter
from .index import Library, editing, file_id, first_name, in_folders
from .tags import mood_values, read_mood_tags, write_mood_tags

MOOD_POLICIES = ("keep", "replace", "skip")


def check_mood_policy(mood_tag: str) -> None:
    """A clear error for an unknown ``--mood-tag``, before any work."""
    if mood_tag not in MOOD_POLICIES:
        raise MoodmapError(None, f"{parameter('mood_tag')} must be one of {', '.join(MOOD_POLICIES)}")


def planned_values(row: dict, current: dict[str, str], journal: dict, mood_tag: str) -> dict[str, str]:
    """The tags to write for one indexed song under the mood policy (a user's MOOD is one
    moodmap has no record of writing, or that differs from what it wrote)."""
    values = mood_values(row["valence"], row["arousal"], row["emotion"], row["quadrant"], row["model"],
                         row.get("model_sha"))
    mood_is_users = current.get("MOOD") is not None and current.get("MOOD") != journal.get("MOOD", (None, None))[1]
    if mood_tag == "skip" or (mood_tag == "keep" and mood_is_users):
        values.pop("MOOD")
    return values


def write_library_tags(library: Library, rows: Sequence[dict], roots: Sequence[Path], summary,
                       dry_run: bool, mood_tag: str = "keep") -> None:
    """Write each song's mood tags (a verified copy replaces the file), journal what changed and
    keep the index in step; a file that cannot be tagged is that file's failure, the rest go on.
    A file indexed under several names (a symlink and its target, hard links) is tagged once,
    under its ``first_name``, and every name is re-recorded (a rescan analyses none of them)."""
    files: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r["path"]):
        try:
            st = os.stat(row["path"]) if in_folders(row["path"], roots) else None
        except OSError:
            st = None
        if st is not None:
            files.setdefault(file_id(st), []).append(row)
    for names in files.values():
        row = next(r for r in names if r["path"] == first_name([r["path"] for r in names]))
        path = Path(row["path"])
        journal = library.journal(row["path"])
        plan = functools.partial(planned_values, row, journal=journal, mood_tag=mood_tag)  # current → the values
        done = _rewrite(path, plan, dry_run, summary.failures)
        if not done:
            continue
        summary.tag_changes.append((str(path), done))
        if not dry_run:
            library.record_tags(row["path"], done)
            _refresh(library, path, [name["path"] for name in names])
            summary.tags_written += 1


@dataclass
class UntagSummary:
    restored: list[tuple[str, dict]] = field(default_factory=list)  # path, {key: (now, restored)}
    kept: list[tuple[str, str]] = field(default_factory=list)  # path, key: changed by the user since
    failures: list[Failure] = field(default_factory=list)


def untag_library(db_path: str | Path, roots: Sequence[Path] = (), dry_run: bool = False) -> UntagSummary:
    """Put back every tag moodmap changed (files under ``roots``, default all): the value it
    replaced, or no key where there was none. A tag changed by someone else since is kept."""
    summary = UntagSummary()
    with editing(db_path, dry_run, create=False) as library:
        for name in library.journaled():
            if not in_folders(name, roots):
                continue
            journal = library.journal(name)

            def back(current: dict, journal: dict = journal, name: str = name) -> dict:
                """Each journaled key still as moodmap wrote it, as it was before; the rest is the user's."""
                restore = {key: was for key, (was, written) in journal.items() if current.get(key) == written}
                summary.kept.extend((name, key) for key in journal if key not in restore)
                return restore

            changes = _rewrite(Path(name), back, dry_run, summary.failures)
            if changes is None:
                continue
            if changes:
                summary.restored.append((name, changes))
            if not dry_run:
                library.forget_tags(name, list(journal))
                if changes and os.path.exists(name):
                    _refresh(library, Path(name), [name])
    return summary


def _rewrite(path: Path, choose: Callable[[dict], dict], dry_run: bool, failures: list[Failure]) -> dict | None:
    """Read a file's mood tags and write the values ``choose(current)`` picks (the caller has read
    the file's journal); the changes ({key: (old, new)}), or None when the file could not be read or
    written (its failure is added to ``failures``; the rest go on)."""
    try:
        return write_mood_tags(path, choose(read_mood_tags(path)), dry_run)
    except (MoodmapError, OSError, MutagenError) as exc:
        failures.append(Failure.of(path, TagWriteError(path, _reason(exc, path))))
        return None


def _refresh(library: Library, path: Path, names: Sequence[str]) -> None:
    """Re-record a file moodmap just rewrote under each of its indexed names: its size, time,
    fingerprint and identity are the new file's, so a rescan analyses none of them."""
    st = path.stat()
    content = fingerprint(path, st.st_size)
    for name in names:
        library.refresh(name, st.st_size, st.st_mtime_ns, content, file_id(st))


def _reason(exc: Exception, path: str | Path) -> str:
    """Why a tag write failed, without the path the failure line already names (mutagen wraps the
    system's error, whose text ends in the path: "[Errno 2] No such file or directory: 'PATH'")."""
    if isinstance(exc, MoodmapError):
        return exc.reason
    system = exc if isinstance(exc, OSError) else next((a for a in exc.args if isinstance(a, OSError)), None)
    if system is not None and system.strerror:
        return system.strerror
    text = str(exc)
    for named in (f": '{path}'", f": {path}", f"{path}: ", f"'{path}'"):
        text = text.replace(named, "")
    return one_line(text) or type(exc).__name__  # one line, no space left where the path was
