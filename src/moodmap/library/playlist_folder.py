"""Every mood at once: one playlist per named mood and quadrant, written into a player's playlist folder.

Formats: ``m3u8`` (paths relative to the folder: a ``Playlists`` folder inside the music
folder, which MPD, Navidrome, Jellyfin and Kodi all read), ``m3u`` (MPD's own
``playlist_directory``: paths relative to the music folder) and ``nsp`` (Navidrome smart
playlists: rules, kept current by Navidrome).

The folder is the user's: moodmap records what it wrote in ``.moodmap-playlists.json``
(name → sha256: ``files`` for ``--all-moods``, ``saved`` for the playlists saved from
``moodmap serve``'s map). A rerun replaces or removes only those files, and only while they are
as moodmap wrote them; a file someone edited, or one moodmap did not write, is left alone
and reported. A playlist saved from the map (``save_playlist``) is a new file, or replaces one
of moodmap's unedited files when asked to; ``--all-moods`` never removes it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..core.atomic import atomic_write_text, create_exclusively
from ..core.checksums import sha256
from ..core.errors import MoodmapError
from ..core.mood import mood_names
from .playlists import Constraints, mood_playlist, to_m3u8
from .song_table import SongTable, region_mask

MANIFEST = ".moodmap-playlists.json"
FORMATS = ("m3u8", "m3u", "nsp")
PREFIX = "moodmap - "
SUFFIXES = {"m3u8": ".m3u8", "nsp": ".nsp"}  # what a playlist saved from the map is written as
MAX_NAME = 120  # characters of a saved playlist's name, its suffix included (well under a file name's 255 bytes)
UNSAFE = '/\\<>:"|?*'  # a folder separator here or on Windows, or a character a Windows (SMB) share refuses


class PlaylistTaken(MoodmapError):
    """A saved playlist's name is a file moodmap may not replace: someone else's, or edited since moodmap wrote it."""


class PlaylistExists(MoodmapError):
    """A saved playlist's name is a file moodmap wrote and nobody changed since: replaced only when asked."""


@dataclass
class FolderSummary:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # moodmap's own, for moods that have no song now
    left_alone: list[str] = field(default_factory=list)  # someone else's file, or edited since moodmap wrote it




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
    with _locked(folder):
        record = _manifest(folder)
        ours, saved = record["files"], record["saved"]
        summary, kept = FolderSummary(), {}
        for name, text in texts.items():
            path = folder / name
            current, wanted = _digest(path), _text_digest(text)
            if current is not None and current not in (ours.get(name), saved.get(name)):
                summary.left_alone.append(name)
                continue
            if current == wanted:
                summary.unchanged.append(name)
            else:
                atomic_write_text(path, text)
                summary.written.append(name)
            kept[name] = wanted
            saved.pop(name, None)  # --all-moods owns it again
        for name, digest in ours.items():
            if name in texts:
                continue
            path = folder / name
            if path.exists() and _untouched(path, digest):
                path.unlink()
                summary.removed.append(name)
            elif path.exists():
                summary.left_alone.append(name)
        _write_manifest(folder, kept, saved)
    return summary


def playlist_file_name(name: str, format: str) -> str:
    """The file a playlist saved from the map is written to: the name the user gave (NFC, spaces
    trimmed) and the format's suffix (not doubled, and in place of another format's). Refused in one line,
    naming the problem but not echoing the name, when it could land anywhere but in the folder or hide
    there: a folder separator, a dot-file, a control character or one a Windows share refuses, nothing, or
    too long."""
    if format not in SUFFIXES:
        raise MoodmapError(None, f"a saved playlist is {' or '.join(SUFFIXES)}, not {format[:10]!r}")
    suffix, stem = SUFFIXES[format], unicodedata.normalize("NFC", name).strip()
    given = next((s for s in SUFFIXES.values() if stem.lower().endswith(s)), None)
    if given is not None:  # "calm.nsp" saved as M3U8 is calm.m3u8, not calm.nsp.m3u8
        stem = stem[:-len(given)].rstrip()
    bad = next((c for c in stem if c in UNSAFE or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        shown = repr(bad) if bad.isprintable() else f"U+{ord(bad):04X}"
        raise MoodmapError(None, f"a playlist name cannot hold {shown}: give a plain name, it is saved in the "
                                 "playlists folder (no folders, no \\ / : * ? \" < > |)")
    if not stem:
        raise MoodmapError(None, "give the playlist a name")
    if stem.startswith("."):
        raise MoodmapError(None, "a playlist name cannot start with a dot (a hidden file, or a way out of the folder)")
    if len(stem) + len(suffix) > MAX_NAME:
        raise MoodmapError(None, f"a playlist name is at most {MAX_NAME - len(suffix)} characters")
    return stem + suffix


def save_playlist(folder: Path, name: str, text: str, replace: bool = False) -> str:
    """Save one playlist as ``folder/name`` (``name`` from ``playlist_file_name``): a new file, or, with
    ``replace``, over a file moodmap wrote there (saved or ``--all-moods``) that nobody changed since.
    "written", "replaced" or "unchanged" (the file already holds ``text``). ``PlaylistTaken`` for
    anyone else's file or an edited one, ``PlaylistExists`` for moodmap's unedited one without
    ``replace``; nothing is changed then."""
    with _locked(folder):
        record = _manifest(folder)
        path, wanted = folder / name, _text_digest(text)
        if os.path.lexists(path):
            current = _digest(path) if path.is_file() and not path.is_symlink() else None
            if current is None or current not in (record["files"].get(name), record["saved"].get(name)):
                raise PlaylistTaken(None, f"{name!r} is already in the playlists folder and moodmap did not write it, "
                                          "or it was edited since; choose another name (nothing was changed)")
            if current != wanted and not replace:
                raise PlaylistExists(None, f"{name!r} is a playlist moodmap saved before; replace it, or choose "
                                           "another name (nothing was changed)")
            status = "unchanged" if current == wanted else "replaced"
            if status == "replaced":
                atomic_write_text(path, text)
        else:
            try:
                create_exclusively(path, text.encode("utf-8"))
            except FileExistsError:  # made by someone else since the look above
                raise PlaylistTaken(None, f"{name!r} appeared in the playlists folder just now; choose another "
                                          "name (nothing was changed)") from None
            status = "written"
        record["files"].pop(name, None)
        _write_manifest(folder, record["files"], {**record["saved"], name: wanted})
    return status


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock (a lock on the folder itself, where the system has them): a save from the
    map and a ``--all-moods`` run each read and rewrite the record whole, one at a time."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the record is still written atomically
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # NFS emulates flock with byte-range locks, which a folder cannot take: go on without
            pass
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _manifest(folder: Path) -> dict[str, dict[str, str]]:
    """The record of what moodmap wrote into ``folder``: ``files`` (--all-moods) and ``saved`` (from the map)."""
    path = folder / MANIFEST
    if not path.exists():
        return {"files": {}, "saved": {}}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return {"files": dict(record["files"]), "saved": dict(record.get("saved", {}))}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise MoodmapError(path, "is not moodmap's record of the playlists it wrote; move it away to start "
                                 "afresh (nothing was changed)") from None


def _write_manifest(folder: Path, files: dict[str, str], saved: dict[str, str]) -> None:
    record = {"written_by": "moodmap playlist-folder --all-moods", "files": files}
    if saved:  # only when the map saved any: a folder --all-moods alone writes keeps its record as it was
        record = {"written_by": "moodmap playlist-folder --all-moods and moodmap serve's map", "files": files,
                  "saved": saved}
    atomic_write_text(folder / MANIFEST, json.dumps(record, indent=2) + "\n")


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()  # of the bytes written


def _digest(path: Path) -> str | None:
    return sha256(path) if path.exists() else None


def _untouched(path: Path, digest: str | None) -> bool:
    return digest is not None and _digest(path) == digest
