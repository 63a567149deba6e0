"""What every command shares: the consoles, one-line errors, progress bars, engine options."""
from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.rich_utils
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer.exceptions import TyperException

from ..core.atomic import TEMP_SUFFIX, atomic_write_text
from ..core.errors import Interrupted, MoodmapError, one_line

# Piped or logged output is not cut to rich's default 80 columns: the compare and report
# tables need about 110 (COLUMNS, when set, still wins).
PIPED_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
# Output quotes file names, tags and the user's own words: nothing in them is rich markup or an
# emoji code ("Mix [b]old.m3u8", ":smile:" are names; rich would print "Mix old.m3u8" and "😄").
console = Console(soft_wrap=True, width=PIPED_WIDTH, markup=False, emoji=False)
if PIPED_WIDTH and typer.rich_utils.MAX_WIDTH is None:  # --help piped into a pager or a file: not cut at 80 either
    typer.rich_utils.MAX_WIDTH = PIPED_WIDTH
stderr = Console(stderr=True, soft_wrap=True, markup=False, emoji=False)  # notes and errors, one line each


def debugging() -> bool:
    """Whether internal errors show their traceback (``--debug`` or ``MOODMAP_DEBUG=1``)."""
    return os.environ.get("MOODMAP_DEBUG", "") not in ("", "0")


# A missing module → the extra that installs it: a command that needs one says so in one line.
EXTRAS = {"torch": "train", "onnx": "train", "librosa": "train", "scipy": "train", "matplotlib": "train",
          "fastapi": "web", "uvicorn": "web", "multipart": "web",
          "ray": "ray", "pandas": "frame", "beets": "beets"}


def fails_cleanly(command: Callable) -> Callable:
    """Turn moodmap's own errors into one line and exit code 2, and anything unexpected into
    one line asking for a report and exit code 1 (the traceback only when debugging)."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Interrupted as exc:  # Ctrl-C in a resumable job: it says how to resume
            stderr.print(f"moodmap: {exc.for_command_line()}", markup=False, highlight=False)
            raise typer.Exit(130) from None
        except MoodmapError as exc:  # in the command's terms: its parameters as options (--mood-tag)
            stderr.print(f"moodmap: {exc.for_command_line()}", markup=False, highlight=False)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, TyperException):  # typer's own: usage errors, exits
            raise
        except ImportError as exc:
            extra = EXTRAS.get((getattr(exc, "name", None) or "").split(".")[0])
            if extra is None or debugging():
                raise
            stderr.print(f"moodmap: this needs {exc.name}, which is not installed: pip install 'moodmap[{extra}]'",
                         markup=False, highlight=False)
            raise typer.Exit(2) from None
        except (sqlite3.DatabaseError, OSError) as exc:  # the index or the system said no
            if debugging():
                raise
            stderr.print(_refused(exc), markup=False, highlight=False)
            raise typer.Exit(2) from None
        except Exception as exc:  # noqa: BLE001 — the last place a user can be spared a traceback
            if debugging():
                raise
            message = one_line(exc)[:300]
            stderr.print(f"moodmap: internal error: {type(exc).__name__}: {message} — please report it; "
                         "rerun with --debug for the traceback", markup=False, highlight=False)
            raise typer.Exit(1) from None
    return wrapper


def _refused(exc: sqlite3.DatabaseError | OSError) -> str:
    """The one line for a refusal that is neither moodmap's fault nor the user's input: a damaged index
    or a full disk under it (sqlite3), or the system saying no (a read-only folder, a path through a
    file, a full disk). One function for both, so that ``fails_cleanly`` stays within the complexity limit."""
    if isinstance(exc, sqlite3.DatabaseError):
        return (f"moodmap: the index could not be read or written ({exc}): is it damaged, or its disk full? "
                "Nothing more was changed")
    return f"moodmap: {os_error(exc)}"


def at_least(option: str, value: float, low: float, above: bool = False) -> None:
    """Refuse an option's value below ``low`` (or, ``above``, not above it) in one line."""
    if value < low or (above and value == low):
        raise MoodmapError(None, f"{option} must be {'more than' if above else 'at least'} {low:g} (got {value:g})")


def os_error(exc: OSError) -> str:
    """What the system refused, in one line naming the path (the file the user named, not the
    temporary file beside it that an atomic write was making)."""
    path, name = exc.filename, Path(exc.filename or "").name
    if name.startswith(".") and name.endswith(TEMP_SUFFIX):  # .NAME.PID.RANDOM.partial → NAME
        path = Path(path).with_name(name[1:-len(TEMP_SUFFIX)].rsplit(".", 2)[0])
    reason = exc.strerror or one_line(exc)
    if isinstance(exc, FileExistsError) and path is not None and not Path(path).is_dir():
        reason = "a file is in the way of a folder"  # an output path through a file: makedirs says "File exists"
    return f"{path}: {reason}" if path is not None else f"could not write the output: {reason}"


def plural(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless n is 1 ("1 song", "3 songs")."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def output_file(path: Optional[Path]) -> Optional[Path]:
    """``path`` when its folder is there: an output is written into a folder the user has, never into
    one a typo made (``-o /nonexistent/x.m3u8`` made /nonexistent/ and said nothing)."""
    if path is not None and not path.parent.exists():  # a file in its place: the write says so
        raise MoodmapError(path, f"not written: its folder {path.parent} does not exist")
    return path


def write_json(path: Optional[Path], data) -> None:
    """``--json PATH``: ``data`` written there whole (atomically), when asked for (its folder checked with
    ``output_file`` before the work, so hours of training never end in a path that cannot be written)."""
    if path is not None:
        atomic_write_text(path, json.dumps(data, indent=2))


@contextlib.contextmanager
def progress_bar(description: str, hidden: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar driven by ``update(done, total)`` callbacks; it appears at the first
    update, so work refused before it starts shows no empty bar (never, when ``hidden``)."""
    if hidden:
        yield lambda done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("•"),
               TimeElapsedColumn(), TextColumn("• ETA"), TimeRemainingColumn())
    bar = Progress(*columns, console=console)
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(description, total=None)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


EngineOption = Annotated[str, typer.Option("--engine",
                                           help="local (process pool) or ray (pip install 'moodmap\\[ray]').")]
AddressOption = Annotated[Optional[str], typer.Option(
    "--address", help="With --engine ray: auto (the cluster `ray start` made) or ray://HOST:10001; "
                      "default: a private Ray on this machine.")]


def db_option(what: str) -> object:
    """The --db option of a command that uses the library index (``what`` it does with it)."""
    return Annotated[Optional[Path], typer.Option(
        "--db", show_default=False,
        help=f"{what} Default: $MOODMAP_DB, else library = \"PATH\" in ~/.config/moodmap/config.toml, else "
             "~/.local/share/moodmap/library.sqlite (`moodmap library stats` says which).")]


def index_path(db: Optional[Path]) -> Path:
    """The index a command writes to: --db, or the one moodmap keeps for this user."""
    from ..library.index import index_location

    return index_location(db)[0]


def existing_index(db: Optional[Path]) -> Path:
    """The index a command reads; where there is none yet, one line saying how to make one."""
    from ..library.index import NO_INDEX, index_location

    path, source = index_location(db)
    if not path.exists() or (db is None and path.is_file() and path.stat().st_size == 0):  # 0 bytes: made next
        make = f"moodmap scan MUSIC --db {db}" if db is not None else "moodmap scan ~/Music"
        where = "" if db is not None else f" ({source})"
        raise MoodmapError(path, f"{NO_INDEX} yet{where}; `{make}` makes one")
    return path
