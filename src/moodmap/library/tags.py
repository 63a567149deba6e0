"""Tags in audio files, with mutagen: reading what players wrote, writing mood where they look.

Mood goes where players and taggers already read it: ID3 ``TXXX:VALENCE`` /
``TXXX:AROUSAL`` frames and ``TMOO`` for mp3 (and wav/aiff ID3 chunks), Vorbis comments
``VALENCE`` / ``AROUSAL`` / ``MOOD`` for flac, ogg and opus, and freeform
``----:com.apple.iTunes:`` atoms for m4a. An ID3v2.3 file stays v2.3 (its mood goes in
``TXXX:MOOD``, as Picard writes it: v2.3 has no TMOO). A value moodmap replaces is replaced
where it is (the user's ``TXXX:MOOD`` in a v2.4 tag, ``mood`` spelled so in a Vorbis comment,
in the frame's own encoding), so a file never holds two moods and ``untag`` gives back the
very frames it had; an emptied ID3 tag is removed, not left behind, and an mp3's ID3v1 tag is
left as it was (its fields are read, never copied into the ID3v2 tag). An ID3v2.2 tag is not
rewritten (mutagen would save it as v2.4). WAVs' RIFF ``LIST/INFO`` text is read too. Writes
never touch the audio payload.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any


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

    def every(key: str) -> list[str]:
        try:
            values: Any = lookup(key)  # an ID3 frame (its text), a list of values or None
            values = values.text if hasattr(values, "text") else values
        except (KeyError, ValueError):
            return []
        return [text for text in (str(value).strip() for value in values or ()) if text]

    # The first title, artist, album; every genre ("Jazz; Funk"): `playlist --genre funk` finds a song
    # tagged with several, as Navidrome (which splits genres at ; / ,) does.
    fields = {key: "; ".join(every(key)) if key == "genre" else next(iter(every(key)), None) for key in ID3_FIELDS}
    fields = {key: value or None for key, value in fields.items()}
    if handle.mime and "audio/wav" in handle.mime and None in fields.values():  # ID3 wins, RIFF INFO fills in
        info = riff_info(path)
        fields = {key: value or info.get(key) for key, value in fields.items()}
    return TrackInfo(**fields, duration=float(duration) if duration else None)


ID3_FIELDS = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "genre": "TCON"}
RIFF_INFO_FIELDS = {b"INAM": "title", b"IART": "artist", b"IPRD": "album", b"IGNR": "genre"}


def riff_info(path: str | PathLike) -> dict[str, str]:
    """Title, artist, album and genre from a WAV's ``LIST/INFO`` chunk (as ffmpeg writes them);
    {} for a file without one. Odd sizes skip their pad byte; a truncated file gives what is whole."""
    import struct

    found: dict[str, str] = {}
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return found
        while len(header := handle.read(8)) == 8:
            kind, size = header[:4], struct.unpack("<I", header[4:])[0]
            if kind == b"LIST":
                body = handle.read(min(size, 1 << 20))  # text, not audio: a bound for a size that lies
                if body[:4] == b"INFO":
                    found.update(_info_texts(body[4:]))  # a cut-short body: its whole sub-chunks
                handle.seek(size - len(body), 1)  # (past the end of a truncated file: the next read is empty)
            else:
                handle.seek(size, 1)  # the samples are not read
            handle.seek(size & 1, 1)
    return found


def _info_texts(body: bytes) -> dict[str, str]:
    """The sub-chunks of a ``LIST/INFO`` body: NUL-terminated text, UTF-8 or else Latin-1."""
    import struct

    found, position = {}, 0
    while position + 8 <= len(body):
        kind, size = body[position:position + 4], struct.unpack("<I", body[position + 4:position + 8])[0]
        raw = body[position + 8:position + 8 + size].split(b"\0", 1)[0]
        position += 8 + size + (size & 1)
        if kind in RIFF_INFO_FIELDS:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            if text.strip():
                found[RIFF_INFO_FIELDS[kind]] = text.strip()
    return found


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
    """The mood tags a file holds now (only those moodmap writes; several values of one key are
    joined by NUL, as ID3v2.4 joins them, so that they are given back as several)."""
    import mutagen

    return _mood_tags(mutagen.File(str(path)))


def _mood_tags(handle) -> dict[str, str]:
    if handle is None or handle.tags is None:
        return {}
    return {key: value for key in MOOD_KEYS if (value := _get(handle, key)) is not None}


def write_mood_tags(path: str | PathLike, values: Mapping[str, str | None], dry_run: bool = False) -> dict[str, tuple]:
    """Set mood tags (a value of None removes the key); returns {key: (old, new)} for what
    changes (nothing is written on a dry run).

    The write goes to a copy beside the file (the real file, for a symlink); the copy
    replaces the original only when its audio payload is byte-identical to the original's
    (``audio_payload.audio_digest``) — by rename, or for a file with hard links by a
    crash-safe copy in place, so that every link sees the tags.
    """
    import shutil

    import mutagen

    from ..core.atomic import atomic_path, finish_in_place, in_place_path, remove_stale_temps
    from ..core.audio_payload import audio_digest
    from ..core.errors import MoodmapError

    path = Path(path).resolve()  # through a symlink to the real file: the link stays a link
    if not dry_run:
        finish_in_place(path)  # an in-place write a crash interrupted
    handle = mutagen.File(str(path))
    current = _mood_tags(handle)
    changes = {k: (current.get(k), v) for k, v in values.items() if current.get(k) != v}
    if changes and handle is not None and _is_id3(handle) and handle.tags.version[:2] == (2, 2):
        raise MoodmapError(path, "ID3v2.2 tag: not rewritten (saving it would make it v2.4); convert it with "
                                 f"`mid3v2 --convert '{path}'` (mutagen) or your tagger, then scan again")
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
        _without_id3v1(handle, temp)
        if handle.tags is None:
            handle.add_tags()
        for key, value in values.items():
            _set(handle, key, value)
        if _is_id3(handle) and not handle.tags:  # untag emptied it: no empty tag left (a WAV's bytes as they were)
            _delete_id3(handle, temp)
        else:
            _save(handle, temp)
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


def _without_id3v1(handle, temp: Path) -> None:
    """An mp3's ID3v2 tag as the file holds it: mutagen adds an ID3v1 tag's fields to the ID3v2 frames it
    reads, and saving them would copy an old rip's title and artist into the ID3v2 tag, where untag
    could not tell them from the user's own frames (nor remove an ID3v2 tag the file never had)."""
    from mutagen.id3 import ID3, ID3NoHeaderError

    if type(handle.tags) is ID3:  # an mp3's own tag (a WAV's or AIFF's ID3 chunk is another class)
        try:
            handle.tags = ID3(str(temp), load_v1=False)
        except ID3NoHeaderError:  # only an ID3v1 tag: the ID3v2 tag is a new one
            handle.tags = None


def _save(handle, temp: Path) -> None:
    """Save in the tag version the file had; an mp3's ID3v1 tag stays byte for byte (mutagen would
    rewrite it from the ID3v2 frames, which do not hold its fields: ``_without_id3v1``)."""
    from mutagen.id3 import ID3
    from mutagen.id3._id3v1 import find_id3v1  # where mutagen's save finds the ID3v1 tag it rewrites

    version = {"v2_version": 3} if _id3_v23(handle) else {}
    if type(handle.tags) is not ID3:
        handle.save(**version)
        return
    with open(temp, "rb") as file:
        offset = find_id3v1(file)[1]  # from the end; 0 without an ID3v1 tag
        file.seek(offset, os.SEEK_END)
        v1 = file.read() if offset else b""
    handle.save(v1=0, **version)  # the ID3v2 tag, the ID3v1 tag taken off …
    with open(temp, "ab") as file:
        file.write(v1)  # … and put back as it was


def _delete_id3(handle, temp: Path) -> None:
    """Remove an ID3 tag that holds nothing: the mp3's ID3v2 (an ID3v1 stays), a WAV's or AIFF's chunk."""
    from mutagen.aiff import AIFF
    from mutagen.id3 import delete
    from mutagen.wave import WAVE

    if isinstance(handle, (WAVE, AIFF)):
        # mutagen's FileType declares `tags = None` (a class attribute), so mypy types every file's tags as None
        handle.tags.delete(str(temp))  # type: ignore[attr-defined]
    else:
        delete(str(temp), delete_v1=False)


def _id3_frames(handle, key: str) -> list:
    """The frames holding ``key``, the one players read first: ``TXXX`` of that name (any case), and
    for MOOD ``TMOO`` too (first in v2.4, after ``TXXX:MOOD`` in v2.3)."""
    custom = [f for f in handle.tags.getall("TXXX") if f.desc.upper() == key]
    mood = handle.tags.getall("TMOO") if key == "MOOD" else []
    return custom + mood if _id3_v23(handle) else mood + custom


def _mp4_keys(tags, key: str) -> list[str]:
    return [name for name in tags if name.upper() == (M4A_PREFIX + key).upper()]


def _vorbis_positions(tags, key: str) -> list[int]:
    """Where ``key`` is in a Vorbis comment's (name, value) list, whatever the name's case."""
    return [i for i, (name, _) in enumerate(list.__iter__(tags)) if name.upper() == key]


def _latin1(values: list[str]) -> bool:
    try:
        "".join(values).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _get(handle, key: str) -> str | None:
    from mutagen.mp4 import MP4Tags

    tags = handle.tags
    if _is_id3(handle):
        frames = _id3_frames(handle, key)
        return "\0".join(map(str, frames[0].text)) if frames and frames[0].text else None
    if isinstance(tags, MP4Tags):
        names = _mp4_keys(tags, key)
        values: list[str] | None = [bytes(v).decode("utf-8", "replace") for v in tags[names[0]]] if names else []
    elif isinstance(tags, list):
        values = [list.__getitem__(tags, i)[1] for i in _vorbis_positions(tags, key)]
    else:
        values = tags.get(key) if hasattr(tags, "get") else None
    return "\0".join(map(str, values)) if values else None


def _set(handle, key: str, value: str | None) -> None:
    """Set ``key`` where the file holds it (every frame or spelling, in its encoding and place), or
    add it where players look; None removes it."""
    from mutagen.mp4 import AtomDataType, MP4FreeForm, MP4Tags

    tags = handle.tags
    values = value.split("\0") if value is not None else None
    if _is_id3(handle):
        _set_id3(handle, key, values)
    elif isinstance(tags, MP4Tags):
        names = _mp4_keys(tags, key)
        old = tags[names[0]][0] if names else None
        for name in names[1:] if values is not None else names:
            del tags[name]
        if values is not None:
            tags[names[0] if names else M4A_PREFIX + key] = [
                MP4FreeForm(v.encode("utf-8"), dataformat=old.dataformat if old is not None else AtomDataType.UTF8)
                for v in values]
    elif isinstance(tags, list):  # a Vorbis comment: values replaced in place, keeping their order and spelling
        positions = _vorbis_positions(tags, key)  # (its dict view would respell, reorder: the list's own methods)
        name = list.__getitem__(tags, positions[0])[0] if positions else key
        kept = positions[:len(values or ())]
        for i, position in enumerate(kept):
            assert values is not None  # kept is empty when values is None
            list.__setitem__(tags, position, (name, values[i]))
        for position in reversed(positions[len(kept):]):
            list.__delitem__(tags, position)
        at = kept[-1] + 1 if kept else len(tags)
        list.__setitem__(tags, slice(at, at), [(name, v) for v in (values or ())[len(kept):]])
    elif values is None:
        if key in tags:
            del tags[key]
    else:
        tags[key] = values


def _set_id3(handle, key: str, values: list[str] | None) -> None:
    """``_set`` for an ID3 tag: its frames for ``key`` rewritten in their encoding (or a new TMOO or TXXX
    frame where there is none), or removed for None. Its own function, so ``_set`` stays one branch per
    tag format (and within the complexity limit)."""
    from mutagen.id3 import TMOO, TXXX

    tags = handle.tags
    frames = _id3_frames(handle, key)
    others = [f for f in frames if list(map(str, f.text)) != values]
    if len(others) < len(frames):  # already there (the user's TXXX:MOOD beside a TMOO an older moodmap
        frames, values = others, None  # added): the others go
    for frame in frames if values is None else ():
        tags.pop(frame.HashKey, None)
    for frame in frames if values is not None else ():
        assert values is not None  # the loop runs only when it is
        frame.text = values
        if frame.encoding == 0 and not _latin1(values):  # a Latin-1 frame that cannot hold the new value
            frame.encoding = 1 if _id3_v23(handle) else 3
    if values is not None and not frames:  # v2.3 has no UTF-8 nor TMOO: UTF-16 TXXX, as Picard writes it
        tags.add(TMOO(encoding=3, text=values) if key == "MOOD" and not _id3_v23(handle)
                 else TXXX(encoding=1 if _id3_v23(handle) else 3, desc=key, text=values))
