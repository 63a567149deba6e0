"""``moodmap integrate``: what a music server needs to read moodmap's tags and playlists."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import at_least, console, db_option, existing_index, fails_cleanly, plural, progress_bar, stderr

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
    from ..library.navidrome import append_toml, toml_tags

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


@integrate_app.command("mpd")
@fails_cleanly
def integrate_mpd(
    db: IndexToRead = None,
    host: Annotated[Optional[str], typer.Option(help="MPD's host, or its socket's path; password@host when MPD "
                                                     "wants a password for stickers. Default: $MPD_HOST, else "
                                                     "localhost.", show_default=False)] = None,
    port: Annotated[Optional[int], typer.Option(help="MPD's port. Default: $MPD_PORT, else 6600.",
                                                show_default=False)] = None,
    music_dir: Annotated[Optional[Path], typer.Option(help="MPD's music_directory as this machine sees it. "
                                                           "Default: what MPD's config says (it tells only "
                                                           "over its local socket), else the folder found by "
                                                           "asking MPD for a few songs by their paths.",
                                                      show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would change; change nothing in MPD or the index.")]
    = False,
    remove: Annotated[bool, typer.Option(help="Undo: delete the stickers moodmap set (only valence, arousal and "
                                              "mood, only where they still hold moodmap's value; a value moodmap "
                                              "replaced is put back).")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar and no notes, only the summary line.")] = False,
) -> None:
    """Set the valence, arousal and mood stickers of every indexed song in a running MPD; a rerun writes only what
    changed. valence and arousal are integers 0-1000 written with four digits (0.6 is 0600), since MPD compares
    sticker values as integers (0.24: sticker find song "" valence gt 600) or as text (0.23: > 0600)."""
    from ..core.errors import MoodmapError
    from ..library.mpd_stickers import MpdAddress, remove_stickers, set_stickers

    if remove and music_dir is not None:
        raise MoodmapError(None, "--remove needs no --music-dir: it finds moodmap's stickers by what it recorded")
    address = MpdAddress.resolve(host, port)
    index = existing_index(db)
    with progress_bar("MPD stickers", hidden=quiet) as update:
        if remove:
            summary = remove_stickers(index, address, dry_run=dry_run, progress=update)
        else:
            summary = set_stickers(index, address, music_dir, dry_run=dry_run, progress=update)
    if not quiet:
        _note_unknown(summary, remove)
    console.print(_removed_line(summary) if remove else _set_line(summary), markup=False, highlight=False)


def _set_line(summary) -> str:
    """What ``integrate mpd`` did (or, dry, would do), in one line."""
    verb = "would set" if summary.dry_run else "set"
    line = (f"MPD at {summary.address}: {summary.songs} songs: {verb} {summary.set}, {summary.unchanged} unchanged, "
            f"{len(summary.unknown)} not in MPD's database")
    if summary.replaced:
        line += f" ({plural(summary.replaced, 'sticker')} held a value moodmap had not set: recorded, --remove puts " \
                "it back)"
    if summary.music_dir:
        line += f"; music_directory {_home_as_tilde(summary.music_dir)} ({summary.music_dir_source})"
    return line + (" — dry run: nothing changed in MPD or the index" if summary.dry_run else "")


def _home_as_tilde(path: str) -> str:
    """``path`` with the user's home folder written ``~``, as a user writes it."""
    home = str(Path.home())
    return "~" + path[len(home):] if home != "/" and (path == home or path.startswith(home + "/")) else path


def _removed_line(summary) -> str:
    """What ``integrate mpd --remove`` did (or, dry, would do), in one line."""
    would = "would be " if summary.dry_run else ""
    line = (f"MPD at {summary.address}: {summary.removed} stickers {would}removed, {summary.restored} {would}put back "
            f"to their earlier value, {summary.left_alone} left alone (changed since moodmap set them)")
    if summary.missing:
        line += f", {summary.missing} on songs MPD does not have now (kept on record for a later --remove)"
    return line + (" — dry run: nothing changed in MPD or the index" if summary.dry_run else "")


def _note_unknown(summary, remove: bool) -> None:
    """One note naming a few of the songs MPD does not know, and what to check."""
    if not summary.unknown or remove:
        return
    shown = ", ".join(summary.unknown[:3]) + (", …" if len(summary.unknown) > 3 else "")
    are = "is" if len(summary.unknown) == 1 else "are"
    stderr.print(f"moodmap: note: {plural(len(summary.unknown), 'indexed song')} {are} not in MPD's database "
                 f"({shown}): outside its music_directory, or new since MPD's last update (`mpc update`)? --music-dir "
                 "says where MPD's music is", markup=False, highlight=False)


NAVIDROME_STEPS = """\
# Then:
#   moodmap scan ~/Music --write-tags                 # writes MOOD, VALENCE, AROUSAL, MOODMAP_QUADRANT
#   moodmap playlist --mood calm -o ~/Music/calm.nsp  # a smart playlist Navidrome keeps current
# Navidrome imports .nsp files found in its music folder (or PlaylistsPath) at scan time.
# MOOD needs no configuration: Navidrome maps TMOO / MOOD / iTunes MOOD to its own mood field."""


@fails_cleanly
def playlist_folder(
    ctx: typer.Context,
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
    from ..core.errors import MoodmapError
    from ..library.playlist_folder import playlist_texts, write_playlists
    from ..library.song_table import SongTable

    if ctx.info_name == OLD_NAME:
        stderr.print(f"moodmap: note: `moodmap {OLD_NAME}` is now `moodmap playlist-folder` (one playlist: "
                     "`moodmap playlist`); the old name goes in moodmap 0.3", markup=False, highlight=False)

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


OLD_NAME = "playlists"  # moodmap 0.1's name, a letter away from `playlist`: kept, hidden, until 0.3
commands.command("playlist-folder")(playlist_folder)
commands.command(OLD_NAME, hidden=True)(playlist_folder)
