"""``moodmap integrate``: what a music server needs to read moodmap's tags and playlists."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import at_least, console, db_option, existing_index, fails_cleanly, stderr

commands = typer.Typer()  # merged into the moodmap app by cli/root.py
IndexToRead = db_option("Library index written by `moodmap scan`.")
integrate_app = typer.Typer(help="Connect moodmap's tags and playlists to a music server.", no_args_is_help=True)
commands.add_typer(integrate_app, name="integrate")


@integrate_app.command("navidrome")
@fails_cleanly
def integrate_navidrome(
    write: Annotated[Optional[Path], typer.Option(help="Also append the lines to this navidrome.toml (a copy of "
                                                       "the original is kept beside it as .bak).")] = None,
) -> None:
    """The navidrome.toml lines that make VALENCE, AROUSAL and MOODMAP_QUADRANT smart-playlist fields, and where
    the .nsp playlists go."""
    from ..navidrome import append_toml, toml_tags

    text = toml_tags()
    if write is not None:
        existed = write.exists()
        added = append_toml(write)
        kept = f" (the previous file is {write}.bak)" if existed else ""
        console.print(f"added {', '.join(added)} to {write}{kept}; restart Navidrome and run a full scan",
                      markup=False, highlight=False)
        return
    console.print(text, markup=False, highlight=False)
    console.print(NAVIDROME_STEPS, markup=False, highlight=False)


NAVIDROME_STEPS = """\
# Then:
#   moodmap scan ~/Music --write-tags                 # writes MOOD, VALENCE, AROUSAL, MOODMAP_QUADRANT
#   moodmap playlist --mood calm -o ~/Music/calm.nsp  # a smart playlist Navidrome keeps current
# Navidrome imports .nsp files found in its music folder (or PlaylistsPath) at scan time.
# MOOD needs no configuration: Navidrome maps TMOO / MOOD / iTunes MOOD to its own mood field."""


@commands.command()
@fails_cleanly
def playlists(
    to: Annotated[Path, typer.Option(help="The player's playlist folder (e.g. ~/Music/Playlists).")],
    all_moods: Annotated[bool, typer.Option("--all-moods", help="One playlist per named mood and quadrant.")] = False,
    db: IndexToRead = None,
    format: Annotated[str, typer.Option("--format", help="m3u8 (paths relative to the folder), m3u (MPD's "
                                                         "playlist_directory: paths relative to --music-dir) or "
                                                         "nsp (Navidrome smart playlists).")] = "m3u8",
    music_dir: Annotated[Optional[Path], typer.Option(help="For --format m3u: MPD's music_directory.")] = None,
    n: Annotated[Optional[int], typer.Option("--n", help="At most this many songs each (default: every song of "
                                                         "the mood; smart playlists: 500).")] = None,
) -> None:
    """Write a playlist per mood into a player's playlist folder; a rerun replaces only the files it wrote."""
    from ..errors import MoodmapError
    from ..playlist_folder import playlist_texts, write_playlists
    from ..song_table import SongTable

    if not all_moods:
        raise MoodmapError(None, "say which playlists: --all-moods (one per named mood and quadrant)")
    if n is not None:
        at_least("--n", n, 1)
    table = SongTable.from_library(existing_index(db)) if format != "nsp" else None
    texts = playlist_texts(table, format, to.resolve(), music_dir.resolve() if music_dir else None, n)
    summary = write_playlists(texts, to)
    for name in summary.left_alone:
        stderr.print(f"moodmap: note: {to / name}: not as moodmap wrote it (or not moodmap's); left as it is",
                     markup=False, highlight=False)
    console.print(f"{len(summary.written)} written, {len(summary.unchanged)} unchanged, {len(summary.removed)} "
                  f"removed (no song of that mood now), {len(summary.left_alone)} left alone → {to}",
                  markup=False, highlight=False)
