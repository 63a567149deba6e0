"""Reading the tags players already wrote (title, artist, album, genre, duration) with mutagen."""
from __future__ import annotations

from dataclasses import dataclass
from os import PathLike


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

    def first(key: str) -> str | None:
        try:
            values = (handle.tags or {}).get(key)
        except (KeyError, ValueError):
            return None
        return str(values[0]).strip() or None if values else None

    return TrackInfo(first("title"), first("artist"), first("album"), first("genre"),
                     float(duration) if duration else None)
