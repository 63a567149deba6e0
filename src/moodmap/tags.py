"""Tags in audio files, with mutagen: reading what players wrote, writing mood where they look.

Mood goes where players and taggers already read it: ID3 ``TXXX:VALENCE`` /
``TXXX:AROUSAL`` frames and ``TMOO`` for mp3 (and wav/aiff ID3 chunks), Vorbis comments
``VALENCE`` / ``AROUSAL`` / ``MOOD`` for flac, ogg and opus, and freeform
``----:com.apple.iTunes:`` atoms for m4a. An ID3v2.3 file stays v2.3 (its mood goes in
``TXXX:MOOD``, as Picard writes it: v2.3 has no TMOO). Writes never touch the audio payload.
"""
from __future__ import annotations

import os

from dataclasses import dataclass
from os import PathLike
from pathlib import Path


@dataclass(frozen=True)
class TrackInfo:
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    duration: float | None = None


def read_tags(path: str | PathLike) -> TrackInfo:
    """Common tags of any format mutagen knows; empty fields where there are none or the file is odd."""
    import mutagen

    try:
        handle = mutagen.File(str(path), easy=True)
    except (mutagen.MutagenError, OSError, ValueError, KeyError, IndexError):
        return TrackInfo()
    if handle is None:
        return TrackInfo()
    duration = getattr(getattr(handle, "info", None), "length", None)
    # WAV and AIFF have no "easy" view: their ID3 chunk is read frame by frame.
    lookup = (lambda key: handle.tags.get(ID3_FIELDS[key])) if _is_id3(handle) else \
        (lambda key: (handle.tags or {}).get(key))

    def first(key: str) -> str | None:
        try:
            values = lookup(key)
            values = values.text if hasattr(values, "text") else values
        except (KeyError, ValueError):
            return None
        return str(values[0]).strip() or None if values else None

    return TrackInfo(first("title"), first("artist"), first("album"), first("genre"),
                     float(duration) if duration else None)


ID3_FIELDS = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "genre": "TCON"}


# Writing mood tags ---------------------------------------------------------------

MOOD_KEYS = ("VALENCE", "AROUSAL", "MOOD", "MOODMAP_QUADRANT", "MOODMAP_MODEL")
M4A_PREFIX = "----:com.apple.iTunes:"


def mood_values(valence: float, arousal: float, emotion: str, quadrant: str | None, model: str,
                model_sha: str | None = None) -> dict[str, str]:
    """The tag values moodmap writes (0–1 scale, three decimals); MOODMAP_MODEL names the model
    and the start of its weights' sha256 (``improved sha256:9d3b34305165``): which weights, exactly."""
    return {"VALENCE": f"{valence:.3f}", "AROUSAL": f"{arousal:.3f}", "MOOD": emotion,
            "MOODMAP_QUADRANT": quadrant or "neutral",
            "MOODMAP_MODEL": f"{model} sha256:{model_sha[:12]}" if model_sha else model}


def read_mood_tags(path: str | PathLike) -> dict[str, str]:
    """The mood tags a file holds now (only those moodmap writes)."""
    import mutagen

    handle = mutagen.File(str(path))
    if handle is None or handle.tags is None:
        return {}
    return {key: value for key in MOOD_KEYS if (value := _get(handle, key)) is not None}


def write_mood_tags(path: str | PathLike, values: dict[str, str | None], dry_run: bool = False) -> dict[str, tuple]:
    """Set mood tags (a value of None removes the key); returns {key: (old, new)} for what
    changes (nothing is written on a dry run).

    The write goes to a copy beside the file (the real file, for a symlink); the copy
    replaces the original only when its audio payload is byte-identical to the original's
    (``audio_payload.audio_digest``) — by rename, or for a file with hard links by a
    crash-safe copy in place, so that every link sees the tags.
    """
    import shutil

    import mutagen

    from .atomic import atomic_path, finish_in_place, in_place_path, remove_stale_temps
    from .audio_payload import audio_digest
    from .errors import MoodmapError

    path = Path(path).resolve()  # through a symlink to the real file: the link stays a link
    if not dry_run:
        finish_in_place(path)  # an in-place write a crash interrupted
    current = read_mood_tags(path)
    changes = {k: (current.get(k), v) for k, v in values.items() if current.get(k) != v}
    if dry_run or not changes:
        return changes
    before = audio_digest(path)
    remove_stale_temps(path.parent, path.name)  # a copy a killed earlier write left beside the file
    st = path.stat()
    # Replacing the file would cut its hard links, or hand it to this user (a root cron job, another
    # owner's file): then it is written in place, keeping its inode and so its owner, group and mode.
    in_place = st.st_nlink > 1 or not _can_give_back(st)
    with (in_place_path if in_place else atomic_path)(path) as temp:
        shutil.copy2(path, temp)  # the mode and times; the owner and group just below
        if not in_place and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            os.chown(temp, st.st_uid, st.st_gid)
        handle = mutagen.File(str(temp))
        if handle is None:
            raise MoodmapError(path, "mutagen cannot write tags to this format")
        if handle.tags is None:
            handle.add_tags()
        for key, value in values.items():
            _set(handle, key, value)
        _save(handle)
        if audio_digest(temp, path.suffix) != before:
            raise MoodmapError(path, "tag write changed the audio payload; original left untouched")
    return changes


def _can_give_back(st: os.stat_result) -> bool:
    """Whether a new file made by this process can be given the owner and group of ``st``'s file."""
    if os.geteuid() == 0:
        return True
    return st.st_uid == os.geteuid() and st.st_gid in (os.getegid(), *os.getgroups())


def _is_id3(handle) -> bool:
    from mutagen.id3 import ID3

    return isinstance(handle.tags, ID3)


def _id3_v23(handle) -> bool:
    """An ID3v2.3 tag (mutagen reads it as 2.4 and would save it as 2.4 unless told)."""
    return _is_id3(handle) and getattr(handle.tags, "version", (2, 4, 0))[:2] == (2, 3)


def _save(handle) -> None:
    """Save in the tag version the file had."""
    if _id3_v23(handle):
        handle.save(v2_version=3)
    else:
        handle.save()


def _get(handle, key: str) -> str | None:
    from mutagen.mp4 import MP4Tags

    tags = handle.tags
    if _is_id3(handle):
        custom = [f for f in tags.getall("TXXX") if f.desc == key]
        mood = tags.getall("TMOO") if key == "MOOD" else []
        frames = (custom or mood) if _id3_v23(handle) else (mood or custom)
        return str(frames[0].text[0]) if frames and frames[0].text else None
    if isinstance(tags, MP4Tags):
        values = tags.get(M4A_PREFIX + key)
        return bytes(values[0]).decode("utf-8", "replace") if values else None
    values = tags.get(key) if hasattr(tags, "get") else None
    return str(values[0]) if values else None


def _set(handle, key: str, value: str | None) -> None:
    from mutagen.id3 import TMOO, TXXX
    from mutagen.mp4 import MP4FreeForm, MP4Tags

    tags = handle.tags
    if _is_id3(handle):
        if key == "MOOD" and not _id3_v23(handle):
            tags.delall("TMOO")
            if value is not None:
                tags.add(TMOO(encoding=3, text=[value]))
        else:
            tags.delall(f"TXXX:{key}")
            if value is not None:  # v2.3 has no UTF-8: UTF-16, as Picard writes it
                tags.add(TXXX(encoding=1 if _id3_v23(handle) else 3, desc=key, text=[value]))
    elif isinstance(tags, MP4Tags):
        tags.pop(M4A_PREFIX + key, None)
        if value is not None:
            tags[M4A_PREFIX + key] = [MP4FreeForm(value.encode("utf-8"))]
    elif value is None:
        if key in tags:
            del tags[key]
    else:
        tags[key] = [value]
