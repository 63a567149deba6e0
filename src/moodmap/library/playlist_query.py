"""What a playlist asks, as the CLI and the web app take it: at most one mode (a mood or quadrant, near a
song, a path, an energy curve), ``Filters`` (ranges of valence and arousal, parts of tags, a text) and a
``Sort``; checked here, before any library is loaded. ``playlists.build_playlist`` makes the playlist.

>>> query = playlist_query(mood="calm", valence="0.6:", genre="jazz", sort="arousal-")
>>> query["filters"], query["sort"]
({'valence': [0.6, None], 'genre': 'jazz'}, 'arousal-')
>>> query_filters(query).describe()
'valence ≥ 0.6, genre ~ jazz'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.errors import MoodmapError, parameter
from ..core.mood import QUADRANT_CENTERS
from .song_table import AXES, TAG_FIELDS, Filters, Range, parse_range

SHAPES = ("rise", "fall", "arc")
MODES = ("mood", "near", "path", "arousal")  # what a query names at most one of; with none: a range playlist
ONE_MODE = (f"choose one of {parameter('mood')}, {parameter('quadrant')}, {parameter('near')}, "
            f"{parameter('from')}/{parameter('to')} or {parameter('arousal')} rise|fall|arc")
NOTHING_ASKED = (ONE_MODE + f", or filter with {parameter('valence')} / {parameter('arousal')} LO:HI, "
                 f"{parameter('genre')}, {parameter('artist')}, {parameter('album')}, {parameter('text')} "
                 f"(and {parameter('sort')})")


@dataclass(frozen=True)
class Sort:
    """The order of a playlist's songs: by valence or arousal, lowest first unless ``descending``.
    Written ``arousal`` (or ``arousal+``) and ``arousal-`` (highest first)."""

    field: str
    descending: bool = False

    def __str__(self) -> str:
        return self.field + ("-" if self.descending else "")

    def describe(self) -> str:
        return f"{self.field}, {'highest' if self.descending else 'lowest'} first"


def parse_sort(text: str) -> Sort:
    """``valence``/``arousal``, ``+`` (ascending, the default) or ``-`` (descending) after it, or before
    it as Navidrome writes a sort (``-arousal``)."""
    key = text.strip().lower()
    if key[-1:] in ("+", "-"):
        field, sign = key[:-1], key[-1]
    elif key[:1] in ("+", "-"):
        field, sign = key[1:], key[0]
    else:
        field, sign = key, "+"
    if field not in AXES:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise MoodmapError(None, f"{parameter('sort')} {shown!r}: sort by valence or arousal, a - after it for highest "
                                 "first (arousal-)")
    return Sort(field, sign == "-")


def playlist_query(mood: str | None = None, quadrant: str | None = None, near: str | None = None,
                   start: str | None = None, end: str | None = None, arousal: str | None = None, *,
                   valence: str | None = None, genre: str | None = None, artist: str | None = None,
                   album: str | None = None, text: str | None = None, sort: str | None = None) -> dict:
    """The query ``build_playlist`` takes, from the options the CLI and the web API share.

    ``arousal`` is an energy curve (rise, fall, arc) or, with a colon, a range like ``valence``'s
    (``LO:HI``, ``LO:``, ``:HI`` on the 0–1 scale, both ends included); ``genre``, ``artist`` and
    ``album`` are parts of those tags, ``text`` of artist, title, album or file name; ``sort`` is
    ``valence`` or ``arousal``, ``-`` after it for highest first. Everything is checked here, before
    a library is loaded."""
    if mood and quadrant:
        raise MoodmapError(None, ONE_MODE)
    if quadrant and quadrant.strip().upper() not in QUADRANT_CENTERS:
        raise MoodmapError(None, f"unknown quadrant {quadrant!r}; choose Q1 (happy), Q2 (angry), Q3 (sad) or Q4 (calm)")
    curve = arousal if arousal is not None and ":" not in arousal else None
    if curve is not None:
        check_shape(curve)
    ranges = {axis: parse_range(value, parameter(axis)) for axis, value in
              (("valence", valence), ("arousal", None if curve else arousal)) if value is not None}
    tags = {name: _needle(value, name) for name, value in zip(TAG_FIELDS, (genre, artist, album)) if value is not None}
    filters = Filters(ranges, tags, None if text is None else _needle(text, "text"))
    query: dict[str, Any] = {"mood": mood or quadrant, "near": near,
                             "path": (start, end) if start or end else None, "arousal": curve}
    if filters:
        query["filters"] = filters.as_query()
    if sort is not None:
        query["sort"] = str(parse_sort(sort))
    mode, _ = one_mode(query)  # fail before anything is loaded
    if sort is not None and mode in ("path", "arousal"):
        what = "a mood path" if mode == "path" else "an energy curve"
        raise MoodmapError(None, f"{parameter('sort')} orders a set of songs; {what} has an order of its own")
    return query


def _needle(value: str, name: str) -> str:
    if not value.strip():
        raise MoodmapError(None, f"--{name} needs some text to look for")
    return value.strip()


def query_name(query: dict) -> str:
    """A short name for what a query asks: its mood, else its filters, else its sort."""
    return query.get("mood") or query_filters(query).describe() or f"by {query.get('sort')}"


def query_filters(query: dict) -> Filters:
    """The ``Filters`` of a query (its ``filters``: ranges as [low, high], parts of tags, text)."""
    given = query.get("filters") or {}
    return Filters({axis: Range(*given[axis]) for axis in AXES if axis in given},
                   {name: given[name] for name in TAG_FIELDS if name in given}, given.get("text"))


def query_sort(query: dict) -> Sort | None:
    """The ``Sort`` of a query, if it has one."""
    return parse_sort(query["sort"]) if query.get("sort") else None


def one_mode(query: dict) -> tuple[str, Any]:
    """The single (mode, value) a query names, or ("range", None) for filters alone; a clear error
    for several modes, or for nothing asked."""
    modes = {k: query[k] for k in MODES if query.get(k)}
    if len(modes) > 1:
        raise MoodmapError(None, ONE_MODE)
    if not modes and not (query.get("filters") or query.get("sort")):
        raise MoodmapError(None, NOTHING_ASKED)
    return next(iter(modes.items())) if modes else ("range", None)


def check_shape(shape: str) -> None:
    """A one-line error for an energy curve that is not rise, fall or arc."""
    if shape not in SHAPES:
        raise MoodmapError(None, f"unknown arousal curve {shape!r}; choose from {', '.join(SHAPES)}, "
                                 "or give a range LO:HI (0.2:0.6, :0.4)")
