"""Scanning music folders into the library index, touching only what was scanned.

``scan_library`` walks the folders it is given, skips files whose size, modification
time and model are unchanged, recognises moved files by a content fingerprint (no
re-analysis), remembers each file's failure with the moodmap version and model it met
(skipped next time under the same two, unless asked to retry), and analyses the rest in
worker processes; each result is committed as it arrives (WAL), so Ctrl-C or kill -9
loses only the songs in flight and a rerun goes on. An error in moodmap itself (a bug,
not the file's fault) is reported and never recorded against the file.

What it removes from the index: only songs *under the scanned folders* whose files are
gone, and not many of them at once — an empty or unmounted folder, or more than a fifth
of the index vanishing, is refused unless ``prune_missing``. A dry run changes nothing,
neither the index nor a file. The junk that NAS boxes and Macs leave (``._*``,
``@eaDir``, ``#recycle``, ``.Trash-*`` …) is not music and is skipped, like ``exclude``.
"""
from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

from .. import __version__
from ..core.checksums import fingerprint
from ..core.clock import timestamp
from ..core.engines import LOCAL, Engine, run_tasks
from ..core.errors import (
    Failure,
    MissingFileError,
    ModelError,
    MoodmapError,
    UnreadableFileError,
    crashed,
    debugging,
    parameter,
)
from ..inference.registry import DEFAULT_MODEL, identify, resolve
from .index import TAG_WRITE_ERROR, Library, editing, file_id, first_name, in_folders
from .song import Song
from .tagging import check_mood_policy, write_library_tags
from .tags import read_tags

# The audio files a library holds, and the type each is served as (``moodmap serve``).
AUDIO_TYPES = {".mp3": "audio/mpeg", ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
               ".opus": "audio/ogg", ".m4a": "audio/mp4", ".mp4": "audio/mp4", ".aac": "audio/aac",
               ".wav": "audio/wav", ".aif": "audio/aiff", ".aiff": "audio/aiff"}
EXTENSIONS = frozenset(AUDIO_TYPES)
# What file servers and desktops leave beside the music: AppleDouble forks, Synology thumbnails,
# recycle bins and snapshots, trash folders.
JUNK = ("._*", ".AppleDouble", "@eaDir", "#recycle", "#snapshot", ".Trash-*", ".Trashes", "$RECYCLE.BIN",
        "System Volume Information", ".@__thumb", "lost+found")
PRUNE_SHARE = 0.2  # a scan that would drop more than this share of the index asks for --prune-missing …
PRUNE_ALWAYS = 2  # … unless it is only this many songs


@dataclass
class ScanSummary:
    files: int = 0
    analysed: int = 0  # a dry run: analysed to show the tags, not stored
    unchanged: int = 0  # and a file's other names (a symlink, a hard link) taking its song as it is indexed
    moved: int = 0
    pruned: int = 0
    skipped_failed: int = 0
    tags_written: int = 0
    tag_changes: list[tuple[str, dict]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # the files' own: recorded in the index
    internal: list[Failure] = field(default_factory=list)  # moodmap's errors (bugs): reported, not recorded
    seconds: float = 0.0
    interrupted: bool = False
    dry_run: bool = False


@dataclass
class ScanPlan:
    """What a scan will do, decided before anything is changed."""

    todo: list[AnalyseTask] = field(default_factory=list)
    moves: list[tuple[str, str, os.stat_result]] = field(default_factory=list)  # old path, new path, new stat
    gone: list[str] = field(default_factory=list)
    failures: list[tuple[Failure, int, int]] = field(default_factory=list)  # and the file's size and mtime
    found: dict[Path, int] = field(default_factory=dict)  # audio files found under each scanned folder
    twins: list[tuple[str, str, os.stat_result]] = field(default_factory=list)  # a file's other name, its first, stat
    files: list[tuple[str, str]] = field(default_factory=list)  # path, FILE_ID where the index has another


def iter_audio_files(root: Path, exclude: Sequence[str] = ()) -> Iterator[Path]:
    """Audio files under ``root``, without the junk (JUNK) and what ``exclude`` names.

    A pattern matches a file or folder name (``@eaDir``, ``*.part.mp3``) or a path below
    ``root`` (``Podcasts/*``). Symlinked folders are not followed, so loops cannot trap the walk."""
    patterns = (*JUNK, *exclude)
    for folder, dirs, files in os.walk(root, followlinks=False):
        below = Path(folder).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not _excluded(below / d, patterns))
        for name in sorted(files):
            if Path(name).suffix.lower() in EXTENSIONS and not _excluded(below / name, patterns):
                yield Path(folder) / name


def _excluded(relative: Path, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(relative.name, p) or fnmatchcase(relative.as_posix(), p) for p in patterns)


@dataclass(frozen=True)
class AnalyseTask:
    path: str
    size: int
    mtime_ns: int
    fingerprint: str
    model: str
    model_sha: str
    timeline: bool
    hop: float
    file_id: str | None = None


def analyse(task: AnalyseTask) -> Song | Failure:
    """Worker: tags + prediction of one file, as the index's record of it (or why there is none)."""
    from ..inference.predict import (
        predict_file,  # numpy, the decoders and the FFT: only where there is audio to analyse
    )

    try:
        prediction = predict_file(task.path, resolve(task.model).predictor, task.model, task.timeline, task.hop)
    except ModelError:
        raise  # a damaged model is not the file's fault: the scan stops with it, nothing marked failed
    except Exception as exc:  # noqa: BLE001 — one odd file must not stop a library of thousands
        if debugging() and not isinstance(exc, MoodmapError):
            raise  # a bug: its traceback, not one line
        return Failure.of(task.path, exc)
    info = read_tags(task.path)
    return Song(path=task.path, fingerprint=task.fingerprint, size=task.size, mtime_ns=task.mtime_ns,
                **asdict(info), valence=prediction.valence, arousal=prediction.arousal,
                valence_spread=prediction.valence_spread, arousal_spread=prediction.arousal_spread,
                quadrant=prediction.quadrant, emotion=prediction.emotion, model=task.model, model_sha=task.model_sha,
                timeline=json.dumps([asdict(p) for p in prediction.timeline]) if task.timeline else None,
                analysed_at=timestamp(), file_id=task.file_id)


def _crashed(task: AnalyseTask, reason: str) -> Failure:
    return crashed(task.path, reason)


def scan_library(roots: str | Path | Sequence[str | Path], db_path: str | Path, model: str = DEFAULT_MODEL,
                 jobs: int | None = None, timeline: bool = False, hop: float = 5.0, retry_failed: bool = False,
                 progress: Callable[[int, int], None] | None = None, write_tags: bool = False,
                 dry_run: bool = False, engine: Engine = LOCAL, exclude: Sequence[str] = (),
                 prune_missing: bool = False, mood_tag: str = "keep", keep_gone: bool = False) -> ScanSummary:
    """Bring the index up to date with the folders; returns what was done.

    Only songs under ``roots`` are looked at, moved or removed. ``write_tags`` then writes
    every indexed song's mood under ``roots`` into its file (a user's own MOOD tag by the
    ``mood_tag`` policy: ``moodmap.library.tagging``), journals what it changed and re-records the
    file's size, time and fingerprint. ``keep_gone`` leaves the songs whose files are gone in the
    index, still recognised as the source of a move (``scan --watch``: their files may be on their
    way to a new name). ``dry_run`` reports what would be analysed, moved, removed and
    tagged (analysing new files to show their tags) and changes nothing. Analyses run on
    ``engine``; every row is written here.
    """
    began = time.monotonic()
    roots = music_folders(roots)
    check_mood_policy(mood_tag)
    model_sha = identify(model).sha256
    summary = ScanSummary(dry_run=dry_run)
    with editing(db_path, dry_run) as library:
        plan = _plan(library, roots, model, model_sha, timeline, hop, retry_failed, exclude, summary, keep_gone)
        _refuse_mass_removal(plan, library, roots, prune_missing)
        fresh: dict[str, dict] | None = {} if dry_run else None  # a dry run keeps its rows here, not in the index
        if not dry_run:
            _apply(plan, library, roots, model, model_sha)
        _analyse(plan.todo, library, model, model_sha, jobs, engine, progress, summary, fresh)
        if not dry_run:
            _name_twins(plan, library)
        if write_tags and not summary.interrupted:
            rows = {row["path"]: row for row in library.songs()} | (fresh or {})
            write_library_tags(library, list(rows.values()), roots, summary, dry_run, mood_tag)
            if not dry_run:  # listed by `moodmap library failures`; a rescan tries them again
                library.record_tag_failures(roots, [f for f in summary.failures if f.error == TAG_WRITE_ERROR])
    summary.seconds = time.monotonic() - began
    return summary


def music_folders(roots: str | Path | Sequence[str | Path]) -> list[Path]:
    """The folders to scan, resolved; a clear error for one that is not there."""
    listed = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
    if not listed:
        raise MoodmapError(None, "give at least one music folder to scan")
    folders = []
    for root in map(Path, listed):
        if not root.is_dir():
            raise MoodmapError(root, "not a folder (nothing was changed)")
        folders.append(root.resolve())
    return folders


def _plan(library: Library, roots: list[Path], model: str, model_sha: str, timeline: bool, hop: float,
          retry_failed: bool, exclude: Sequence[str], summary: ScanSummary, keep_gone: bool) -> ScanPlan:
    """Sort the folders' files into unchanged, moved, known failures and work to do; find the gone."""
    known, failed = library.known(), library.failures()
    plan = ScanPlan()
    present = _list_folders(roots, exclude, plan, summary)
    # Gone: indexed under the scanned folders and no longer on disk (an excluded file is left alone).
    gone = {p: r for p, r in known.items() if in_folders(p, roots) and p not in present and not os.path.lexists(p)}
    moved_from = _move_sources(known, gone, roots)
    current = {p for p, st in present.items() if _current(known.get(p), st, model_sha, timeline)}
    first = _first_names(present, current, known, model_sha, timeline)
    twins, analysed = [], set()  # a file's other names wait for its first one's fate
    for path, st in present.items():
        row = known.get(path)
        if row is not None and row["file_id"] != file_id(st):
            plan.files.append((path, file_id(st)))
        if path in current:
            summary.unchanged += 1
            continue
        failure = failed.get(path)
        if failure and not retry_failed and _still_failing(failure, st, model_sha):
            summary.skipped_failed += 1
            continue
        if first[file_id(st)] != path:  # another name of a file analysed, moved or indexed under its first
            twins.append((path, st))
            continue
        try:
            content = fingerprint(Path(path), st.st_size)
        except OSError as exc:
            plan.failures.append((Failure.of(path, UnreadableFileError(path, exc.strerror or str(exc))),
                                  st.st_size, st.st_mtime_ns))
            continue
        old = moved_from(content) if row is None else None
        if old is not None and known[old]["model_sha"] == model_sha:
            plan.moves.append((old, path, st))
            plan.files.append((path, file_id(st)))
            gone.pop(old, None)
            summary.moved += 1
            analysed.add(path)
            continue
        plan.todo.append(AnalyseTask(path, st.st_size, st.st_mtime_ns, content, model, model_sha, timeline, hop,
                                     file_id(st)))
        analysed.add(path)
    for path, st in twins:  # they take their first name's song: what it is indexed as, or is about to be
        source = first[file_id(st)]
        # a first name not found here is one indexed elsewhere as the file is now (_first_names)
        if source in current or source in analysed or source not in present:
            plan.twins.append((path, source, st))
            summary.unchanged += 1
        else:  # its first name could not be read or analysed (recorded there): it stands for the file
            summary.skipped_failed += 1
    plan.gone = [] if keep_gone else list(gone)
    summary.pruned = len(plan.gone)
    summary.failures += [failure for failure, _, _ in plan.failures]
    plan.todo.sort(key=lambda t: t.size, reverse=True)
    return plan


def _list_folders(roots: list[Path], exclude: Sequence[str], plan: ScanPlan,
                  summary: ScanSummary) -> dict[str, os.stat_result]:
    """The audio files under the folders as they are now (path → stat), counted per folder; a file that
    cannot be looked at, or is no regular file, goes into the plan's failures instead."""
    present: dict[str, os.stat_result] = {}
    for root, path in ((root, p) for root in roots for p in iter_audio_files(root, exclude)):
        summary.files += 1
        plan.found[root] = plan.found.get(root, 0) + 1
        try:
            st = path.stat()
        except OSError as exc:  # a dangling or looping symlink, a file gone since the listing
            kind = MissingFileError if isinstance(exc, FileNotFoundError) else UnreadableFileError
            plan.failures.append((Failure.of(path, kind(path, exc.strerror or str(exc))), 0, 0))
            continue
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the reader forever
            plan.failures.append((Failure.of(path, UnreadableFileError(path, "not a regular file")), 0, 0))
            continue
        present[str(path)] = st
    return present


def _current(row, st: os.stat_result, model_sha: str, timeline: bool) -> bool:
    """Whether an indexed song is its file as it is now, analysed by this model (with a timeline if asked)."""
    return (row is not None
            and (row["size"], row["mtime_ns"], row["model_sha"]) == (st.st_size, st.st_mtime_ns, model_sha)
            and bool(row["has_timeline"] or not timeline))


def _first_names(present: dict[str, os.stat_result], current: set[str], known: dict, model_sha: str,
                 timeline: bool) -> dict[str, str]:
    """FILE_ID → the one name a file found under several (a symlink and its target, hard links) is
    analysed and tagged under: one whose song is indexed as the file is now, else ``first_name``'s.
    A name indexed outside the scanned folders counts too."""
    names: dict[str, list[str]] = {}
    for path, st in present.items():
        names.setdefault(file_id(st), []).append(path)
    elsewhere: dict[str, list[str]] = {}
    for path, row in known.items():
        if row["file_id"] in names and path not in present:
            elsewhere.setdefault(row["file_id"], []).append(path)
    first = {}
    for key, paths in names.items():
        st = present[paths[0]]
        ready = [p for p in paths if p in current] + [
            p for p in elsewhere.get(key, ()) if _current(known[p], st, model_sha, timeline) and os.path.exists(p)]
        first[key] = first_name(ready or paths)
    return first


def _still_failing(failure, st: os.stat_result, model_sha: str) -> bool:
    """Whether a recorded failure still stands: the same file, under this moodmap version and this
    model (a new version may have fixed what failed, another model may read the file; a failure
    recorded before failures named their version is tried again too)."""
    return ((failure["size"], failure["mtime_ns"], failure["version"], failure["model_sha"])
            == (st.st_size, st.st_mtime_ns, __version__, model_sha))


def _move_sources(known: dict, gone: dict, roots: list[Path]) -> Callable[[str], str | None]:
    """Where a new file may have come from: a vanished song under the scanned folders or, looked up
    only when needed, an indexed song elsewhere whose file is no longer there."""
    inside = {r["fingerprint"]: p for p, r in gone.items()}
    elsewhere: dict[str, str] | None = None

    def source(content: str) -> str | None:
        nonlocal elsewhere
        if content in inside:
            return inside.pop(content)
        if elsewhere is None:
            elsewhere = {r["fingerprint"]: p for p, r in known.items()
                         if not in_folders(p, roots) and not os.path.lexists(p)}
        return elsewhere.pop(content, None)

    return source


def _refuse_mass_removal(plan: ScanPlan, library: Library, roots: list[Path], prune_missing: bool) -> None:
    """Stop, before anything changes, a scan that would empty the index of an unmounted share."""
    if not plan.gone or prune_missing:
        return
    indexed = library.count()
    for root in roots:  # each folder alone: one unmounted share among several is still refused
        gone_here = [p for p in plan.gone if in_folders(p, [root])]
        if gone_here and not plan.found.get(root):
            _refuse(len(gone_here), indexed, [root], "no audio file was found there (not mounted?)")
    if len(plan.gone) > PRUNE_ALWAYS and len(plan.gone) > PRUNE_SHARE * indexed:
        _refuse(len(plan.gone), indexed, roots, f"more than {PRUNE_SHARE:.0%} of the index at once")


def _refuse(missing: int, indexed: int, folders: list[Path], why: str) -> None:
    raise MoodmapError(None, f"{missing} of the {indexed} indexed songs under {', '.join(map(str, folders))} are "
                             f"missing — {why}; nothing was changed. Rerun with {parameter('prune_missing')} to "
                             "remove them from the index")


def _apply(plan: ScanPlan, library: Library, roots: list[Path], model: str, model_sha: str) -> None:
    """Record the plan's failures, moves and removals, which file each path is, and the folders scanned."""
    for root in roots:
        library.add_root(root)
    for failure, size, mtime_ns in plan.failures:
        library.fail(failure, size, mtime_ns, model, model_sha)
    for old, new, st in plan.moves:
        library.move(old, new, st.st_size, st.st_mtime_ns)
    library.identify(plan.files)
    library.prune(plan.gone)


def _name_twins(plan: ScanPlan, library: Library) -> None:
    """Index a file's other names with the song of its first name (not analysed again); nothing
    where that name's analysis failed (its failure is the file's)."""
    for path, source, st in plan.twins:
        song = library.song(source)
        if song is not None:
            library.save(replace(Song.from_row(song), id=None, path=path, size=st.st_size, mtime_ns=st.st_mtime_ns,
                                 file_id=file_id(st)))


def _analyse(todo: list[AnalyseTask], library: Library, model: str, model_sha: str, jobs: int | None,
             engine: Engine, progress: Callable[[int, int], None] | None, summary: ScanSummary,
             fresh: dict | None) -> None:
    """Analyse the files to do, storing each row or the file's failure as it arrives (into ``fresh``
    instead of the index on a dry run; an internal error only into the summary); Ctrl-C stops cleanly."""
    done = summary.files - len(todo)
    if progress:
        progress(done, summary.files)
    try:
        for task, row in run_tasks(analyse, todo, jobs, engine=engine, batch=4, on_crash=_crashed):
            if isinstance(row, Failure) and row.internal:  # moodmap's fault: the next scan tries the file again
                summary.internal.append(row)
            elif isinstance(row, Failure):
                if fresh is None:
                    library.fail(row, task.size, task.mtime_ns, model, model_sha)
                summary.failures.append(row)
            else:
                if fresh is None:
                    library.save(row)
                else:
                    fresh[task.path] = row.row()
                summary.analysed += 1
            done += 1
            if progress:
                progress(done, summary.files)
    except KeyboardInterrupt:
        summary.interrupted = True
