"""The in-memory library: a library index's songs as arrays, for every reader.

Playlists, the mood map, the web app and the CLI all read the index through a
``SongTable`` (``SongTable.from_library``: the index's catalogue) and select through it:
``find`` one song, ``filter`` by mood, quadrant and text, ``region_mask`` for a mood,
``matching`` for ranges of valence and arousal and parts of tags (``Filters``).

>>> table = SongTable.from_rows([
...     {"id": 1, "path": "/m/a.flac", "artist": "Nina", "title": "Morning", "valence": 0.8, "arousal": 0.6},
...     {"id": 2, "path": "/m/b.flac", "valence": 0.2, "arousal": 0.2}])
>>> [table.rows[i]["id"] for i in table.filter(quadrant="Q1")]
[1]
>>> [table.rows[i]["id"] for i in table.filter(q="nina")]
[1]
>>> table.matching(Filters(ranges={"valence": parse_range("0.5:", "--valence")})).tolist()
[True, False]
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import MoodmapError
from ..core.mood import EMOTIONS, QUADRANT_CENTERS, in_quadrant, resolve_emotion
from .index import first_name, open_library
from .song import TABLE, columns

SONG_FIELDS = columns(TABLE)
AXES = ("valence", "arousal")
TAG_DECIMALS = 3  # the VALENCE / AROUSAL tags (and every table) hold three decimals
TAG_FIELDS = ("genre", "artist", "album")  # the tags --genre / --artist / --album match a part of


@dataclass(frozen=True)
class SongTable:
    """The songs of a library as arrays: positions, uncertainty, artists, and the rows themselves."""

    rows: tuple[dict, ...]
    ids: np.ndarray  # (n,) library ids
    points: np.ndarray  # (n, 2) valence, arousal on 0–1
    spread: np.ndarray  # (n, 2) sd over excerpts; 0 where unknown
    artists: np.ndarray  # (n,) normalised artist name, "" when unknown
    _texts: dict = field(default_factory=dict, compare=False, repr=False)  # what filters look in, made once

    @classmethod
    def from_rows(cls, rows: Sequence[dict]) -> SongTable:
        rows = tuple({key: row.get(key) for key in SONG_FIELDS} for row in rows)
        points = np.asfortranarray(np.array([(r["valence"], r["arousal"]) for r in rows],
                                            dtype=np.float64).reshape(-1, 2))  # columns contiguous
        spread = np.array([(r["valence_spread"] or 0.0, r["arousal_spread"] or 0.0) for r in rows],
                          dtype=np.float64).reshape(-1, 2)
        artists = np.array([(r["artist"] or "").strip().casefold() for r in rows], dtype=object)
        ids = np.array([-1 if r["id"] is None else r["id"] for r in rows], dtype=np.int64)
        return cls(rows, ids, points, spread, artists)

    @classmethod
    def from_library(cls, db_path: str | Path) -> SongTable:
        """All songs of a library index written by ``moodmap scan``, one per file (``one_per_file``)."""
        with open_library(db_path) as library:
            return cls.from_rows(one_per_file(library.catalogue()))

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, key: str | int) -> int:
        """Position of a song given by id, file path, or a unique piece of "artist – title"."""
        text = str(key).strip()
        if text.startswith("~/"):  # a quoted "~/Music/…" reaches us unexpanded
            text = os.path.expanduser(text)
        if text.isascii() and text.isdigit() and len(text) <= 18:  # an id (int64); "²" or 5 000 digits are text
            hits = np.flatnonzero(self.ids == int(text)).tolist()
        elif os.path.exists(text):
            spellings = {os.path.abspath(text), os.path.realpath(text)}
            hits = [i for i, r in enumerate(self.rows) if r["path"] in spellings]
            if not hits:  # the index may hold the file under another symlinked name
                hits = [i for i, r in enumerate(self.rows) if os.path.realpath(r["path"]) in spellings]
            if not hits and os.stat(text).st_nlink > 1:  # … or another hard-linked one
                hits = [i for i, r in enumerate(self.rows) if _same_file(r["path"], text)]
        else:
            needle = text.casefold()
            hits = [i for i, r in enumerate(self.rows) if needle in label(r).casefold()]
        if len(hits) == 1:
            return hits[0]
        shown = repr(text if len(text) <= 80 else text[:80] + "…")  # a 5 000-character key is not echoed whole
        if not hits:
            raise MoodmapError(None, f"no song in the library matches {shown} (give an id, a path or part of a title)")
        examples = "; ".join(f"{self.rows[i]['id']}: {label(self.rows[i])}" for i in hits[:5])
        raise MoodmapError(None, f"{len(hits)} songs match {shown}, be more specific or use an id ({examples})")

    def filter(self, mood: str | None = None, quadrant: str | None = None, q: str | None = None) -> list[int]:
        """Positions of the songs in ``mood`` (a named emotion or Q1–Q4) and ``quadrant`` whose
        artist, title, album or file name contains ``q`` (case-insensitive); all when none is given."""
        mask = np.ones(len(self), dtype=bool)
        for region in (mood, quadrant):
            if region:
                mask &= region_mask(self, region)
        keep = np.flatnonzero(mask).tolist()
        if q:
            needle = q.casefold()
            keep = [i for i in keep if needle in _searchable(self.rows[i])]
        return keep

    def matching(self, filters: Filters) -> np.ndarray:
        """Which songs pass ``filters``: every range (on the values as tagged: three decimals, both
        ends included) and every part of a tag (A–Z in either case), a boolean per song."""
        mask = np.ones(len(self), dtype=bool)
        for axis, bounds in filters.ranges.items():
            values = tagged_values(self, axis)
            if bounds.low is not None:
                mask &= values >= bounds.low
            if bounds.high is not None:
                mask &= values <= bounds.high
        for name, needle in filters.tags.items():
            part = ascii_lower(needle)
            mask &= np.fromiter((part in text for text in self._texts_of(name)), dtype=bool, count=len(self))
        if filters.text:
            needle = filters.text.casefold()
            mask &= np.fromiter((needle in text for text in self._texts_of("text")), dtype=bool, count=len(self))
        return mask

    def _texts_of(self, name: str) -> list[str]:
        """Each song's ``name`` tag with A–Z in lower case ("text": artist, title, album and path
        casefolded), made the first time a filter asks: a table serves many queries."""
        if name not in self._texts:
            self._texts[name] = [_searchable(row) for row in self.rows] if name == "text" else \
                [ascii_lower(row[name] or "") for row in self.rows]
        return self._texts[name]


@dataclass(frozen=True)
class Range:
    """A range on the 0–1 scale, both ends included; ``None``: open at that end."""

    low: float | None = None
    high: float | None = None

    def describe(self, axis: str) -> str:
        """``valence 0.6–1``, ``arousal ≥ 0.4``, ``arousal ≤ 0.4``."""
        if self.low is not None and self.high is not None:
            return f"{axis} {self.low:g}–{self.high:g}"
        return f"{axis} ≥ {self.low:g}" if self.low is not None else f"{axis} ≤ {self.high:g}"


@dataclass(frozen=True)
class Filters:
    """What a song must be to enter a playlist beside its mode: ranges of valence and arousal
    (``{"valence": Range}``), parts of its genre, artist or album tags (``{"genre": "jazz"}``) and
    a text found in its artist, title, album or file name."""

    ranges: Mapping[str, Range] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None

    def __bool__(self) -> bool:
        return bool(self.ranges or self.tags or self.text)

    def describe(self) -> str:
        """The filters in a few words, for titles and messages: ``valence ≥ 0.6, genre ~ jazz``."""
        words = [bounds.describe(axis) for axis, bounds in self.ranges.items()]
        words += [f"{name} ~ {needle}" for name, needle in self.tags.items()]
        return ", ".join(words + ([f"text ~ {self.text}"] if self.text else []))

    def as_query(self) -> dict:
        """The filters as JSON values (a playlist's ``query``): ranges as ``[low, high]``, null for an open end."""
        return {**{axis: [r.low, r.high] for axis, r in self.ranges.items()}, **self.tags,
                **({"text": self.text} if self.text else {})}


RANGE = re.compile(r"\s*([^:]*?)\s*:\s*([^:]*?)\s*")


def parse_range(text: str, option: str) -> Range:
    """``LO:HI``, ``LO:`` or ``:HI`` on the 0–1 scale (both ends included) as a ``Range``; a one-line
    error naming ``option`` for anything else (no colon, not a number, outside 0–1, LO above HI)."""
    shown = f"{option} {text if len(text) <= 40 else text[:40] + '…'!r}"
    match = RANGE.fullmatch(text)
    if not match or not any(match.groups()):
        raise MoodmapError(None, f"{shown}: give a range LO:HI on the 0–1 scale, either end open (0.6:1, 0.6:, :0.4)")
    ends = []
    for end in match.groups():
        try:
            value = float(end) if end else None
        except ValueError:
            raise MoodmapError(None, f"{shown}: {end!r} is not a number (a range is LO:HI on the 0–1 scale)") from None
        if value is not None and not 0.0 <= value <= 1.0:
            raise MoodmapError(None, f"{shown}: {end} is outside the 0–1 scale")
        ends.append(value)
    low, high = ends
    if low is not None and high is not None and low > high:
        raise MoodmapError(None, f"{shown}: the low end is above the high end (did you mean {match[2]}:{match[1]}?)")
    return Range(low, high)


def tagged_values(table: SongTable, axis: str) -> np.ndarray:
    """Each song's valence or arousal as its tag holds it (three decimals, as ``f"{v:.3f}"`` writes it),
    so that a range selects the songs a media server reading the tags selects."""
    column = table.points[:, AXES.index(axis)]
    values = np.round(column, TAG_DECIMALS)  # the same as formatting, except where a value lies on a half…
    scaled = column * 10**TAG_DECIMALS
    halves = np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
    values[halves] = [float(f"{value:.{TAG_DECIMALS}f}") for value in column[halves].tolist()]  # …formatted
    return values


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """``text`` with A–Z in lower case and every other letter as it is: how SQLite's LIKE (Navidrome's
    ``contains``) compares, so a tag filter selects the same songs in moodmap and in Navidrome."""
    return text.translate(ASCII_LOWER)


def one_per_file(rows: Sequence[dict]) -> list[dict]:
    """The rows of an index with each file once: a file indexed under several names (a symlink and
    its target, hard links: one ``file_id``) is the row of its ``first_name``."""
    names: dict[str, list[str]] = {}
    for row in rows:
        if row.get("file_id"):
            names.setdefault(row["file_id"], []).append(row["path"])
    first: dict[str | None, str] = {key: first_name(paths) for key, paths in names.items() if len(paths) > 1}
    return [row for row in rows if first.get(row.get("file_id"), row["path"]) == row["path"]]


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def region_mask(table: SongTable, mood: str) -> np.ndarray:
    """Songs whose nearest named emotion is ``mood`` or, for Q1–Q4, that lie in the quadrant."""
    key = mood.strip().upper()
    if key in QUADRANT_CENTERS:
        return in_quadrant(table.points[:, 0], table.points[:, 1], key)
    # All anchors lie on one circle around the centre, so the nearest is the best-aligned direction.
    directions = np.array([(e.valence - 0.5, e.arousal - 0.5) for e in EMOTIONS]).T
    nearest = ((table.points - 0.5) @ directions).argmax(axis=1)
    return nearest == [e.name for e in EMOTIONS].index(resolve_emotion(mood).name)


def require_songs(table: SongTable) -> None:
    """A clear error for an empty index (playlists and maps need songs)."""
    if not len(table):
        raise MoodmapError(None, "the library index has no songs; run `moodmap scan` first")


def label(row: dict) -> str:
    """"Artist – Title", falling back to the file name."""
    title = row.get("title") or Path(row["path"]).stem
    return f"{row['artist']} – {title}" if row.get("artist") else title


def _searchable(row: dict) -> str:
    return " ".join(str(row.get(k) or "") for k in ("artist", "title", "album", "path")).casefold()
