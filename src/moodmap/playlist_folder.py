"""Every mood at once: one playlist per named mood and quadrant, written into a player's playlist folder.

Formats: ``m3u8`` (paths relative to the folder: a ``Playlists`` folder inside the music
folder, which MPD, Navidrome, Jellyfin and Kodi all read), ``m3u`` (MPD's own
``playlist_directory``: paths relative to the music folder) and ``nsp`` (Navidrome smart
playlists: rules, kept current by Navidrome).

The folder is the user's: moodmap records what it wrote in ``.moodmap-playlists.json``
(name → sha256). A rerun replaces or removes only those files, and only while they are
as moodmap wrote them; a file someone edited, or one moodmap did not write, is left alone
and reported.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_write_text
from .checksums import sha256
from .errors import MoodmapError
from .mood import EMOTIONS, QUADRANT_CENTERS
from .playlists import Constraints, mood_playlist, to_m3u8
from .song_table import SongTable, region_mask

MANIFEST = ".moodmap-playlists.json"
FORMATS = ("m3u8", "m3u", "nsp")
PREFIX = "moodmap - "


@dataclass
class FolderSummary:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # moodmap's own, for moods that have no song now
    left_alone: list[str] = field(default_factory=list)  # someone else's file, or edited since moodmap wrote it


def mood_names() -> list[str]:
    """Every playlist ``--all-moods`` makes: the named emotions, then the quadrants."""
    return [e.name for e in EMOTIONS] + sorted(QUADRANT_CENTERS)


def playlist_texts(table: SongTable, format: str, folder: Path, music_dir: Path | None = None,
                   n: int | None = None) -> dict[str, str]:
    """File name → content, for every mood with songs (every mood, for smart playlists)."""
    if format not in FORMATS:
        raise MoodmapError(None, f"unknown playlist format {format!r}; choose {', '.join(FORMATS)}")
    if format == "m3u" and music_dir is None:
        raise MoodmapError(None, "MPD's playlist_directory wants paths relative to its music folder: give "
                                 "--music-dir (MPD's music_directory)")
    texts = {}
    for mood in mood_names():
        name = f"{PREFIX}{mood}.{format}"
        if format == "nsp":
            from .navidrome import to_nsp

            texts[name] = to_nsp({"mood": mood}, Constraints(n=n or 500), f"{PREFIX}{mood}")
            continue
        count = int(region_mask(table, mood).sum())
        if count:
            playlist = mood_playlist(table, mood, Constraints(n=min(n or count, count)))
            texts[name] = to_m3u8(playlist, folder / name, relative_to=music_dir)
    return texts


def write_playlists(texts: dict[str, str], folder: Path) -> FolderSummary:
    """Write ``texts`` into ``folder``, touching only files moodmap wrote there and nobody changed since."""
    folder.mkdir(parents=True, exist_ok=True)
    ours = _manifest(folder)
    summary, kept = FolderSummary(), {}
    for name, text in texts.items():
        path = folder / name
        current, wanted = _digest(path), hashlib.sha256(text.encode("utf-8")).hexdigest()  # the bytes written
        if current is not None and current != ours.get(name):
            summary.left_alone.append(name)
            continue
        if current == wanted:
            summary.unchanged.append(name)
        else:
            atomic_write_text(path, text)
            summary.written.append(name)
        kept[name] = wanted
    for name, digest in ours.items():
        if name in texts:
            continue
        path = folder / name
        if path.exists() and _untouched(path, digest):
            path.unlink()
            summary.removed.append(name)
        elif path.exists():
            summary.left_alone.append(name)
    atomic_write_text(folder / MANIFEST, json.dumps({"written_by": "moodmap playlists --all-moods",
                                                     "files": kept}, indent=2) + "\n")
    return summary


def _manifest(folder: Path) -> dict[str, str]:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["files"])
    except (ValueError, KeyError, TypeError):
        raise MoodmapError(path, "is not moodmap's record of the playlists it wrote; move it away to start "
                                 "afresh (nothing was changed)") from None


def _digest(path: Path) -> str | None:
    return sha256(path) if path.exists() else None


def _untouched(path: Path, digest: str | None) -> bool:
    return digest is not None and _digest(path) == digest
