"""Commands for a music library: predict files, scan and tag a library, playlists and the mood map."""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..core.engines import Engine
from ..core.errors import MoodmapError, as_options, one_line
from ..inference.registry import DEFAULT_MODEL
from ..library.index import TAG_WRITE_ERROR
from .common import (
    AddressOption,
    EngineOption,
    at_least,
    console,
    db_option,
    existing_index,
    fails_cleanly,
    index_path,
    output_file,
    progress_bar,
    stderr,
)
from .common import plural as _count

commands = typer.Typer()  # merged into the moodmap app by cli/__init__.py
IndexToRead = db_option("Library index written by `moodmap scan`.")
IndexToWrite = db_option("SQLite library index to create or update.")
IndexOfTags = db_option("The library index that recorded the tag writes.")

@commands.command()
@fails_cleanly
def predict(
    files: Annotated[list[Path], typer.Argument(help="Audio files.")],
    model: Annotated[str, typer.Option(help="A registered model's name, or a model file: .onnx, or a .pt "
                                             "checkpoint (one with no ONNX form runs on torch: moodmap\\[train]).")] \
            = DEFAULT_MODEL,
    timeline: Annotated[bool, typer.Option(help="Also slide a 15 s window over the whole track.")] = False,
    hop: Annotated[float, typer.Option(help="Seconds between timeline windows.")] = 5.0,
    format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    plot: Annotated[Optional[Path], typer.Option(help="Draw the first file's timeline (PNG).")] = None,
) -> None:
    """Valence, arousal, spread, quadrant and nearest emotion of each file."""
    import csv as csv_module

    from ..core.engines import native_stderr_silenced
    from ..core.errors import Failure
    from ..inference.predict import Prediction
    from ..inference.predict import predict as run_predict

    if format not in ("table", "json", "csv"):
        raise MoodmapError(None, "--format must be table, json or csv")
    at_least("--hop", hop, 0.0, above=True)
    output_file(plot)
    resolved = _model_to_predict_with(model)
    with native_stderr_silenced():  # libmpg123's notes on damaged files: the failure lines below say what failed
        results = run_predict(files, resolved, timeline=timeline or plot is not None, hop=hop)
    for failure in (r for r in results if isinstance(r, Failure)):
        stderr.print(f"moodmap: failed {failure.path}: {failure.reason}", markup=False, highlight=False)
    good = [r for r in results if isinstance(r, Prediction)]
    if format == "json":
        console.print_json(json.dumps([r.as_dict() for r in good]))
    elif format == "csv":
        writer = csv_module.writer(sys.stdout, lineterminator="\n")
        columns = [f for f in Prediction.fields() if f != "timeline"]
        writer.writerow(columns)
        writer.writerows([[getattr(r, c) for c in columns] for r in good])
    elif good:  # nothing predicted: the failure lines say it all, no empty table
        console.print(_prediction_table(good, model, resolved.description))
    _say_note(resolved)
    if plot is not None and good:
        from ..library.plane_png import timeline_plot

        timeline_plot(good[0], plot)
        console.print(f"timeline of {good[0].path} drawn to {plot}")
    if not good:
        raise typer.Exit(2)


def _model_to_predict_with(model: str):
    """The registry's model (its ONNX form, on onnxruntime); a checkpoint with no ONNX form runs
    as it is on torch, through the research side — loaded only then, and only when installed."""
    from ..inference.registry import NoOnnxForm, resolve

    try:
        return resolve(model)
    except NoOnnxForm as refused:
        try:
            from ..research.models.checkpoint import resolve_checkpoint
        except ImportError as missing:
            if (missing.name or "").split(".")[0] != "torch":
                raise
            raise refused from None  # the library side alone (no moodmap[train]): the refusal says what to do
        return resolve_checkpoint(model)


def _say_note(model) -> None:
    """What the user must know about the weights (demo weights) and what they run on, on stderr."""
    if model.note:
        stderr.print(f"moodmap: note: model {model.name!r} is {model.note}", markup=False, highlight=False)
    if getattr(getattr(model, "predictor", None), "backend", None) == "torch":
        stderr.print(f"moodmap: note: {model.name} is a PyTorch checkpoint: predicting with torch; `moodmap export` "
                     "writes its ONNX form, which predicts without torch", markup=False, highlight=False)


def _prediction_table(predictions, model: str, description: str) -> Table:
    table = Table(title=f"model {model}" + (f" — {description}" if description else ""), title_justify="left")
    for column in ("file", "valence", "arousal", "1–9 (V / A)", "spread (V / A)", "quadrant", "emotion"):
        table.add_column(column, justify="left" if column in ("file", "quadrant", "emotion") else "right")
    for p in predictions:
        table.add_row(Path(p.path).name, f"{p.valence:.3f}", f"{p.arousal:.3f}",
                      f"{p.valence_9:.1f} / {p.arousal_9:.1f}",
                      f"{p.valence_spread:.3f} / {p.arousal_spread:.3f}", p.quadrant or "neutral", p.emotion)
    return table


@commands.command()
@fails_cleanly
def scan(
    folders: Annotated[list[Path], typer.Argument(help="Music folders to index (one or more).")],
    db: IndexToWrite = None,
    model: Annotated[str, typer.Option(help="A registered model's name, or a model file (.onnx, or a registered "
                                             "model's .pt).")] = DEFAULT_MODEL,
    jobs: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores; with --watch, all but "
                                                     "one).")] = None,
    timeline: Annotated[bool, typer.Option(help="Also store each song's mood over time.")] = False,
    retry_failed: Annotated[bool, typer.Option(help="Try files that failed before again.")] = False,
    write_tags: Annotated[bool, typer.Option(help="Write valence, arousal and mood into the files' tags.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show what the scan would analyse, move, remove and tag; change "
                                               "nothing, neither the index nor a file.")] = False,
    exclude: Annotated[Optional[list[str]], typer.Option(help="Skip files and folders matching this glob (a name "
                                                              "or a path below the folder); repeatable.")] = None,
    prune_missing: Annotated[bool, typer.Option(help="Remove missing songs from the index even when many (over 20 %) "
                                                     "or all of a folder's are gone.")] = False,
    mood_tag: Annotated[str, typer.Option(help="With --write-tags, a MOOD tag moodmap did not write: keep it (and "
                                               "still write VALENCE/AROUSAL), replace it, or skip (write no MOOD).")]
    = "keep",
    engine: EngineOption = "local",
    address: AddressOption = None,
    watch: Annotated[bool, typer.Option(help="Keep watching: index and tag files as they arrive, change or go "
                                             "(each once it has stopped growing); Ctrl-C stops.")] = False,
    settle: Annotated[float, typer.Option(help="With --watch: seconds a changed file must stay the same before "
                                               "it is analysed.")] = 2.0,
    grace: Annotated[float, typer.Option(help="With --watch: seconds a song whose file went stays indexed, and a new "
                                              "copy of an indexed song waits for its original to go, so that a move "
                                              "seen in pieces keeps the song's id and tag journal.")] = 60.0,
    quiet: Annotated[bool, typer.Option(help="For cron: no progress bar, no per-file lines, one summary line; "
                                             "exit 0 all done, 1 some files could not be analysed or tagged "
                                             "(`moodmap library failures` lists them), 2 the scan could not run.")]
    = False,
    nice: Annotated[bool, typer.Option(help="Gentle on a shared machine: the lowest CPU priority (nice 19) and the "
                                            "idle I/O class (disk time only when nothing else wants it), for the "
                                            "worker processes too. The I/O class needs Linux (elsewhere only the "
                                            "CPU priority is lowered) and an I/O scheduler that honours it (BFQ).")]
    = False,
) -> None:
    """Analyse music folders into a SQLite index: only new or changed files, moves recognised; songs are removed
    from the index only under the folders scanned."""
    from ..inference.registry import identify
    from ..library.scan import music_folders, scan_library

    if nice:  # first: every thread and worker process started from here on inherits it
        from ..core.priority import be_nice

        be_nice()

    roots = music_folders(folders)  # a missing folder is reported before anything starts
    if jobs is not None:
        at_least("--jobs", jobs, 1)
    at_least("--settle", settle, 0.0)
    at_least("--grace", grace, 0.0)
    listing = "moodmap library failures" + (f" --db {db}" if db is not None else "")
    db = index_path(db)
    if not quiet:
        _say_note(identify(model))
    options = dict(model=model, jobs=jobs, timeline=timeline, retry_failed=retry_failed, write_tags=write_tags,
                   engine=Engine(engine, address), prune_missing=prune_missing, mood_tag=mood_tag)
    terminated = _stop_like_ctrl_c_on_sigterm()
    if watch:  # stopped by Ctrl-C or SIGTERM (systemctl stop) is how a watcher ends: exit 0, as serve
        _watch(roots, db, settle, exclude or (), quiet, {**options, "grace": grace}, listing)
        return
    with progress_bar("scan", hidden=quiet) as update:
        summary = scan_library(roots, db, progress=update, dry_run=dry_run, exclude=exclude or (), **options)
    _report_scan(summary, db, quiet, listing=listing)
    if summary.interrupted:
        how = "stopped (SIGTERM)" if terminated else "interrupted"
        stderr.print(f"moodmap: {how}; analysed songs are saved, rerun the same command to resume")
        raise typer.Exit(128 + signal.SIGTERM if terminated else 130)
    if summary.internal:
        raise typer.Exit(1)  # moodmap itself failed: _report_scan said so, as an internal error
    if any(f.error == TAG_WRITE_ERROR for f in summary.failures) or (quiet and summary.failures):
        raise typer.Exit(1)  # it ran, and some files could not be tagged (or, for cron, analysed)


def _stop_like_ctrl_c_on_sigterm() -> list[int]:
    """SIGTERM (kill, systemd, a container stopping) stops a scan the way Ctrl-C does: the worker
    pool is shut down and what was analysed is saved. Python's default would end the process
    without that, and multiprocessing's resource tracker would warn of leaked semaphores. The
    list it returns gets the signal's number once one came (the exit code is 128 + it)."""
    received: list[int] = []

    def stop(signum: int, _frame) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    return received


def _report_scan(summary, db: Path, quiet: bool, prefix: str = "", listing: str = "") -> None:
    """What a scan did: every tag change and failure (unless quiet), then one summary line."""
    if not quiet:
        for path, changes in summary.tag_changes:
            verb = "would set" if summary.dry_run else "set"
            console.print(f"{path}: {verb} " + ", ".join(f"{k}={new!r}" + (f" (was {old!r})" if old is not None
                                                                            else "")
                                                         for k, (old, new) in changes.items()),
                          markup=False, highlight=False)
        for failure in summary.failures:
            stderr.print(f"moodmap: failed {failure.path}: {failure.reason}", markup=False, highlight=False)
        for failure in summary.internal:
            stderr.print(f"moodmap: internal error on {failure.path}: {failure.reason}", markup=False,
                         highlight=False)
    line = _scan_line(summary, db)
    if summary.failures and not summary.dry_run and listing:
        line += f" — `{listing}` lists the failures"
    console.print(prefix + line, markup=False, highlight=False)
    if summary.internal:
        stderr.print(f"moodmap: internal error: {_count(len(summary.internal), 'file')} not analysed because of an "
                     "error in moodmap itself, not in the files; not recorded as failed, so the next scan tries "
                     "again — please report it; rerun with --debug for the traceback", markup=False, highlight=False)


def _watch(roots, db: Path, settle: float, exclude, quiet: bool, options: dict, listing: str) -> None:
    """`scan --watch`: one line per rescan (with the time), until Ctrl-C."""
    import time

    from ..core.errors import MoodmapError
    from ..library.watch import watch_library

    def report(outcome) -> None:
        stamp = time.strftime("%H:%M:%S")
        if isinstance(outcome, MoodmapError):
            stderr.print(f"moodmap: {stamp} rescan refused: {outcome.for_command_line()}", markup=False,
                         highlight=False)
        elif outcome.analysed or outcome.moved or outcome.pruned or outcome.failures or outcome.tags_written \
                or not quiet:
            _report_scan(outcome, db, quiet, prefix=f"{stamp} ", listing=listing)

    try:  # a stop may come as soon as the line is out
        if not quiet:
            stderr.print(f"moodmap: watching {', '.join(map(str, roots))} (Ctrl-C stops)", markup=False,
                         highlight=False)
        watch_library(roots, db, settle, report, exclude=exclude, **options)
    except KeyboardInterrupt:
        stderr.print("moodmap: stopped watching; the index is up to date with what had settled", markup=False,
                     highlight=False)


def _scan_line(summary, db: Path) -> str:
    """What a scan did (or, dry, would do), in one line: "N failed" are files that could not be
    analysed, "M not tagged" files analysed whose tags could not be written."""
    untagged = sum(f.error == TAG_WRITE_ERROR for f in summary.failures)
    failed = len(summary.failures) - untagged
    not_tagged = f", {untagged} not tagged" if untagged else ""
    if summary.dry_run:
        return (f"{_count(summary.files, 'file')}: {summary.analysed} analysed (not stored), {summary.unchanged} "
                f"unchanged, {summary.moved} to move, {summary.pruned} to remove from the index, {failed} failed, "
                f"{len(summary.tag_changes)} to tag{not_tagged} — dry run: {db} and every file left as they were")
    return (f"{_count(summary.files, 'file')}: {summary.analysed} analysed, {summary.unchanged} unchanged, "
            f"{summary.moved} moved, {summary.pruned} removed from the index, {failed} failed, "
            f"{summary.skipped_failed} skipped (failed before; --retry-failed), "
            f"{_count(summary.tags_written, 'file')} tagged{not_tagged} in {summary.seconds:.1f} s → {db}")


@commands.command()
@fails_cleanly
def untag(
    folders: Annotated[Optional[list[Path]], typer.Argument(help="Only files under these folders (default: all).")]
    = None,
    db: IndexOfTags = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would be restored; change nothing.")] = False,
) -> None:
    """Undo `scan --write-tags`: every tag moodmap changed gets its old value back, and the tags moodmap added
    are removed (a tag edited by someone since is left as it is)."""
    from ..library.tagging import untag_library

    for folder in folders or []:
        if not folder.exists():
            raise MoodmapError(folder, "no such folder (nothing was changed)")
    roots = [folder.resolve() for folder in folders or []]
    summary = untag_library(existing_index(db), roots, dry_run)
    for path, changes in summary.restored:
        back = ", ".join(f"{key}={value!r}" for key, (_, value) in changes.items() if value is not None)
        gone = ", ".join(key for key, (_, value) in changes.items() if value is None)
        said = [f"{'would put back' if dry_run else 'put back'} {back}" if back else "",
                f"{'would remove' if dry_run else 'removed'} {gone}" if gone else ""]
        console.print(f"{path}: " + "; ".join(filter(None, said)), markup=False, highlight=False)
    for path, key in summary.kept:
        stderr.print(f"moodmap: note: {path}: {key} was changed since moodmap wrote it; left as it is",
                     markup=False, highlight=False)
    for failure in summary.failures:
        stderr.print(f"moodmap: failed {failure.path}: {failure.reason}", markup=False, highlight=False)
    done = "would be restored (dry run: nothing changed)" if dry_run else "restored"
    console.print(f"{_count(len(summary.restored), 'file')} {done}")
    if summary.failures:
        raise typer.Exit(1)  # it ran; some files could not be restored


library_app = typer.Typer(help="Look into a library index written by `moodmap scan`.", no_args_is_help=True)
commands.add_typer(library_app, name="library")


@library_app.command("stats")
@fails_cleanly
def library_stats(db: IndexToRead = None) -> None:
    """Which index, its songs, mean mood, and how they spread over quadrants and emotions."""
    from ..library.index import index_location, open_library

    path, source = index_location(db)
    with open_library(existing_index(db)) as index:
        stats = index.stats()
    console.print(f"index: {path} ({source})", markup=False, highlight=False)
    untagged = f", {stats['tag_failures']} not tagged" if stats["tag_failures"] else ""
    console.print(f"{_count(stats['songs'], 'song')}, {_count(stats['failures'], 'failure')}{untagged}; mean valence "
                  f"{(stats['mean_valence'] or 0):.3f}, mean arousal {(stats['mean_arousal'] or 0):.3f}")
    for key in ("quadrants", "emotions", "models"):
        console.print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in stats[key].items()))


@library_app.command("check")
@fails_cleanly
def library_check(db: IndexToRead = None) -> None:
    """Integrity of the index, songs whose files are gone, files indexed twice; exit 2 when the index is damaged."""
    from ..library.index import open_library

    with open_library(existing_index(db)) as index:
        found = index.check()
    for path in found["missing"]:
        console.print(f"missing: {path}", markup=False, highlight=False)
    for paths in found["duplicates"]:
        console.print("the same file twice: " + " = ".join(paths), markup=False, highlight=False)
    integrity = "ok" if found["integrity"] == ["ok"] else _damage(found["integrity"])
    console.print(f"{_count(found['songs'], 'song')}: integrity {integrity}, {len(found['missing'])} missing "
                  f"(moodmap library prune removes them), {len(found['duplicates'])} indexed twice", markup=False,
                  highlight=False)
    if integrity != "ok":
        raise typer.Exit(2)


def _damage(problems: list[str]) -> str:
    """SQLite's integrity_check report (a line per problem, some spanning lines) in one phrase."""
    first = one_line(problems[0]) if problems else "no details"
    return (f"damaged ({_count(len(problems), 'problem')} reported by SQLite's integrity_check, first: "
            f"{first[:200]})")


@library_app.command("prune")
@fails_cleanly
def library_prune(db: IndexToRead = None,
                  dry_run: Annotated[bool, typer.Option(help="Only list them.")] = False) -> None:
    """Remove from the index every song whose file is gone (however many: you asked)."""
    from ..library.index import editing

    db = existing_index(db)
    with editing(db, dry_run, create=False) as index:
        missing = index.check()["missing"]
        gone = [path for path in index.gone_failures() if path not in set(missing)]  # files that failed, then went
        if not dry_run:
            index.prune(missing + gone)
    for path in missing:
        console.print(f"{'would remove' if dry_run else 'removed'}: {path}", markup=False, highlight=False)
    for path in gone:
        console.print(f"{'would remove' if dry_run else 'removed'} the failure of: {path}", markup=False,
                      highlight=False)
    failures = f" and {_count(len(gone), 'failure')}" if gone else ""
    console.print(f"{_count(len(missing), 'song')}{failures} {'would be ' if dry_run else ''}removed from {db}",
                  markup=False, highlight=False)


@library_app.command("export")
@fails_cleanly
def library_export(db: IndexToRead = None) -> None:
    """Every song of the index as CSV."""
    from ..library.index import open_library

    with open_library(existing_index(db)) as index:
        sys.stdout.write(index.export_csv())


@library_app.command("failures")
@fails_cleanly
def library_failures(db: IndexToRead = None) -> None:
    """The files scans could not analyse (skipped until they change, or --retry-failed) and the files they could
    not tag (tried again by every `scan --write-tags`): path, error, reason, when, moodmap version."""
    from ..library.index import open_library

    with open_library(existing_index(db)) as index:
        failures = index.failure_list()
    for row in failures:
        kind = "not tagged" if row["error"] == TAG_WRITE_ERROR else "not analysed"
        under = f"moodmap {row['version']}" if row["version"] else "an older moodmap"
        console.print(f"{kind}: {row['path']}: {row['error']}: {row['reason']} ({row['at']}, {under})",
                      markup=False, highlight=False)
    untagged = sum(row["error"] == TAG_WRITE_ERROR for row in failures)
    console.print(f"{_count(len(failures) - untagged, 'file')} could not be analysed, {untagged} could not be tagged",
                  markup=False, highlight=False)


@commands.command()
@fails_cleanly
def playlist(
    db: IndexToRead = None,
    mood: Annotated[Optional[str], typer.Option(help="A named emotion (happy, calm, sad, angry, …) or Q1–Q4.")] = None,
    quadrant: Annotated[Optional[str], typer.Option(help="Q1 (happy), Q2 (angry), Q3 (sad) or Q4 (calm).")] = None,
    near: Annotated[Optional[str], typer.Option(help="Songs closest to this one (a path, an id or part of a title).")]
    = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Mood path: start song.")] = None,
    to: Annotated[Optional[str], typer.Option(help="Mood path: end song.")] = None,
    steps: Annotated[int, typer.Option(help="Mood path: songs from start to end, both included.")] = 10,
    arousal: Annotated[Optional[str], typer.Option(help="Energy curve: rise, fall or arc; or a range LO:HI like "
                                                        "--valence's.")] = None,
    valence: Annotated[Optional[str], typer.Option(help="Only songs in this range: LO:HI on the 0–1 scale, both "
                                                        "included, either end open (0.6:1, 0.6:, :0.4).")] = None,
    genre: Annotated[Optional[str], typer.Option(help="Only songs whose genre contains this (A–Z in either case).")]
    = None,
    artist: Annotated[Optional[str], typer.Option(help="Only songs whose artist contains this.")] = None,
    album: Annotated[Optional[str], typer.Option(help="Only songs whose album contains this.")] = None,
    text: Annotated[Optional[str], typer.Option(help="Only songs whose artist, title, album or file name contains "
                                                     "this (any case).")] = None,
    sort: Annotated[Optional[str], typer.Option(help="Order by valence or arousal, lowest first; a - after it for "
                                                     "highest first (arousal-).")] = None,
    n: Annotated[int, typer.Option("--n", help="Songs in the playlist.")] = 20,
    min_distance: Annotated[float, typer.Option(help="Keep every two songs at least this far apart (0–1 plane).")]
    = 0.0,
    exclude_artist_repeats: Annotated[bool, typer.Option(help="At most one song per artist.")] = False,
    seed: Annotated[Optional[int], typer.Option(help="Draw a varied playlist (weighted toward the best fits).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write to this .m3u8/.m3u, .json or .nsp "
                                                                    "(Navidrome smart playlist) file.")] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="table, m3u8, json or nsp (default: from -o).")]
    = None,
    absolute: Annotated[bool, typer.Option(help="M3U8 with absolute paths (default: relative to the playlist).")]
    = False,
) -> None:
    """A mood playlist from the library: by mood, near a song, a path between two songs, an energy curve, or
    ranges of valence and arousal; narrowed by ranges, genre, artist, album or text, and sorted.
    With none of those: the moods the library can make playlists of."""
    from ..library.playlists import Constraints, build_playlist, playlist_query, render_playlist
    from ..library.song_table import SongTable

    at_least("--n", n, 1)
    at_least("--steps", steps, 2)
    given, db, out = db, existing_index(db), output_file(out)
    asked = (mood, quadrant, near, from_, to, arousal, valence, genre, artist, album, text, sort)
    if all(value is None for value in asked):
        console.print(_moods_table(SongTable.from_library(db), db, given))
        return
    query = playlist_query(mood, quadrant, near, from_, to, arousal, valence=valence, genre=genre, artist=artist,
                           album=album, text=text, sort=sort)
    format = format or _format_from_suffix(out)
    constraints = Constraints(n, min_distance, exclude_artist_repeats, seed)
    if format == "nsp":
        return _write_smart_playlist(query, constraints, out, db)
    table = SongTable.from_library(db)
    result = build_playlist(table, query, constraints, steps)
    if result.marked_note:
        stderr.print(f"moodmap: note: {as_options(result.marked_note)}", markup=False, highlight=False)
    if format == "table":
        console.print(_playlist_table(result))
        return
    text = render_playlist(result, format, out, absolute)
    if out is None:
        sys.stdout.write(text)
        return
    from ..core.atomic import atomic_write_text

    atomic_write_text(out, text)
    console.print(f"{_count(len(result.songs), 'song')} → {out}")


def _format_from_suffix(out: Optional[Path]) -> str:
    if out is None:
        return "table"
    suffix = out.suffix.lower()
    if suffix in (".m3u8", ".m3u"):
        return "m3u8"
    if suffix in (".json", ".nsp"):
        return suffix[1:]
    raise MoodmapError(out, "write playlists as .m3u8, .m3u, .json or .nsp (or give --format)")


def _write_smart_playlist(query: dict, constraints, out: Optional[Path], db: Path) -> None:
    """A Navidrome smart playlist: rules on the tags `scan --write-tags` writes, evaluated by Navidrome
    (which finds nothing while no file carries them: said in a note)."""
    from ..library.index import Library
    from ..library.navidrome import to_nsp
    from ..library.playlists import query_name

    name = out.stem if out is not None else f"{query_name(query)} (moodmap)"
    text = to_nsp(query, constraints, name)
    if out is None:
        sys.stdout.write(text)
        return
    from ..core.atomic import atomic_write_text

    atomic_write_text(out, text)
    console.print(f"smart playlist {name!r} → {out} (Navidrome evaluates it: put it in its music folder or "
                  "PlaylistsPath; `moodmap integrate navidrome` shows the tags it needs)")
    index = Library.read_only(db)
    try:
        tagged = bool(index.journaled())
    finally:
        index.close()
    if not tagged:
        stderr.print("moodmap: note: no file of this index carries moodmap's tags yet, and Navidrome selects by "
                     "them: `moodmap scan MUSIC --write-tags` writes them")


def _moods_table(table, db: Path, given: Optional[Path]) -> Table:
    from ..library.playlists import mood_counts

    listing = Table(title=f"{len(table)} songs in {db}: pick a mood (--mood NAME, --quadrant Qn), or --near, "
                          "--from/--to, --arousal rise|fall|arc", title_justify="left")
    for column in ("mood", "songs", "playlist"):
        listing.add_column(column, justify="right" if column == "songs" else "left")
    for name, count in mood_counts(table).items():
        option = "--quadrant" if name.startswith("Q") else "--mood"
        command = "moodmap playlist" + (f" --db {given}" if given is not None else "")
        listing.add_row(name, str(count), f"{command} {option} {name}" if count else "")
    return listing


def _playlist_table(result) -> Table:
    table = Table(title=result.title, title_justify="left")
    for column in ("#", "artist", "title", "valence", "arousal", "emotion", "quadrant"):
        table.add_column(column, justify="right" if column in ("#", "valence", "arousal") else "left")
    for i, song in enumerate(result.songs, 1):
        table.add_row(str(i), song["artist"] or "", song["title"] or Path(song["path"]).name, f"{song['valence']:.3f}",
                      f"{song['arousal']:.3f}", song["emotion"] or "", song["quadrant"] or "neutral")
    return table


@commands.command("map")
@fails_cleanly
def mood_map(
    db: IndexToRead = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="map.png (image) or map.html (interactive, self-contained).")]
    = Path("map.html"),
    song: Annotated[Optional[str], typer.Option(help="Draw this song's mood over time (needs `scan --timeline`).")]
    = None,
    title: Annotated[Optional[str], typer.Option(help="Title of the map.")] = None,
) -> None:
    """The library on the valence/arousal plane: quadrants, named emotions, optionally one song's trajectory."""
    from ..library.mood_map import song_trajectory, write_map
    from ..library.song_table import SongTable

    db = existing_index(db)
    table = SongTable.from_library(db)  # a file that is not moodmap's index is refused first
    output_file(out)
    trajectory = song_trajectory(db, table, song) if song else None
    write_map(table, out, trajectory, title)
    console.print(f"{_count(len(table), 'song')} drawn → {out}")


def _exit_through_python(signum: int, _frame) -> None:
    """After its shutdown uvicorn raises the signal it caught once more; for SIGTERM the default
    action would end the process without Python's exit handlers, whose clean-up of the worker
    pool's semaphores then shows as a "leaked semaphore objects" warning."""
    raise SystemExit(128 + signum)


def _playlists_folder(folder: Path | None) -> Path | None:
    """``serve --playlists``: an existing folder this user can write into, resolved (one line otherwise)."""
    import os

    if folder is None:
        return None
    if not folder.is_dir():
        raise MoodmapError(folder, "--playlists: no such folder; create it, or name your player's playlist folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MoodmapError(folder, "--playlists: this folder is not writable by you; the map could not save there")
    return folder.resolve()


@commands.command()
@fails_cleanly
def serve(
    db: Annotated[Optional[Path], typer.Option(help="Library index to show (none: predictions only).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind; the default keeps it on this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    library: Annotated[Optional[Path], typer.Option(help="Folder audio may be played from (default: the "
                                                         "folder holding every indexed song).")] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Largest accepted upload.")] = 100.0,
    workers: Annotated[int, typer.Option(help="Worker processes for analyses; more requests wait their turn.")] = 2,
    model: Annotated[str, typer.Option(help="Model used when a request names none.")] = DEFAULT_MODEL,
    allowed_host: Annotated[Optional[list[str]], typer.Option(
        help="Another name the server may be reached by (a LAN name or address, a reverse proxy's); repeatable. "
             "Requests naming any other Host are refused.")] = None,
    client_timeout: Annotated[float, typer.Option(
        help="Seconds a client may take to send a request's head, or pause while sending its body (which must "
             "arrive within this plus 1 s per 64 KB); a slower client is cut off (408).")] = 10.0,
    queue: Annotated[int, typer.Option(
        help="Uploads that may wait for a worker besides those analysed; more are refused (503, Retry-After) "
             "before they are stored.")] = 4,
    max_connections: Annotated[int, typer.Option(
        help="Connections kept open at once (at most a quarter of the open-file limit); more are answered "
             "503 and closed.")] = 100,
    playlists: Annotated[Optional[Path], typer.Option(
        help="A folder the map saves playlists into (M3U8 with paths relative to it, or .nsp): a player's playlist "
             "folder. Without it the page only downloads them.")] = None,
) -> None:
    """The web app: the library's mood map, song details and audio, playlists, and file analysis (HTTP API at /docs)."""
    try:
        import uvicorn

        from ..web.app import ServerSettings, create_app
    except ImportError as exc:
        raise MoodmapError(None, f"the web app needs its extra ({exc.name} is missing): pip install 'moodmap[web]'") \
            from None
    from ..inference.registry import identify

    identify(model)  # an unknown name or a model prediction cannot run: one line now, not at the first request
    if db is not None:
        from ..library.index import open_library

        open_library(db).close()  # its clear error, before the server starts
    if host not in ("127.0.0.1", "localhost", "::1"):
        stderr.print(f"moodmap: note: serving on {host}: anyone who can reach it can upload files and play your "
                     "library's audio; it answers to the names 127.0.0.1, localhost, {host} and --allowed-host's"
                     .replace("{host}", host), markup=False, highlight=False)
    settings = ServerSettings(db=db, library_root=library, max_upload_bytes=int(max_upload_mb * 2**20),
                              inference_workers=max(1, workers), default_model=model,
                              allowed_hosts=(host, *(allowed_host or ())), queue=queue,
                              playlists=_playlists_folder(playlists))
    # Ctrl-C or SIGTERM: stop within seconds; analyses still running are stopped with their workers.
    if not 0 < client_timeout <= 3600:
        raise MoodmapError(None, f"--client-timeout must be above 0 and at most 3600 seconds (got {client_timeout:g})")
    if not 0 <= queue <= 1000:
        raise MoodmapError(None, f"--queue must be 0 to 1000 (got {queue})")
    if not 1 <= max_connections <= 100_000:
        raise MoodmapError(None, f"--max-connections must be 1 to 100000 (got {max_connections})")
    from ..web import guard

    guard.HEADER_SECONDS = guard.BODY_SECONDS = client_timeout  # read by the guard at each request
    guard.MAX_CONNECTIONS = max_connections  # read when uvicorn's protocol is made, below
    signal.signal(signal.SIGTERM, _exit_through_python)
    # An IPv6 address is bracketed in a URL (http://[::1]:8765/), or a browser cannot open it.
    where = f"[{host.strip('[]')}]" if ":" in host else host
    # Said once uvicorn runs (workers started, its Ctrl-C handling in place), not before.
    web_app = create_app(settings, on_ready=lambda: console.print(
        f"moodmap at http://{where}:{port}/ (API docs at /docs); Ctrl-C stops it", markup=False, highlight=False))
    uvicorn.run(web_app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3,
                timeout_keep_alive=5, http=guard.header_deadline_protocol(),
                backlog=guard.accept_backlog())
