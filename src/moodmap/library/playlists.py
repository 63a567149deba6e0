"""Mood playlists from a library index: by mood or quadrant, near a song, a path between two songs, energy
curves, or ranges of valence and arousal; each narrowed by ``Filters`` (ranges, genre, artist, album, text)
and, for a set of songs, put in the order of a ``Sort`` (``arousal-``: highest first).

Selection is pure numpy over a ``SongTable`` (the library's columns as arrays), so a
query over 100 000 songs takes milliseconds. The CLI and the web app call these same
functions: ``playlist_query`` (``moodmap.library.playlist_query``) checks what they were asked,
``build_playlist`` makes it; ``to_m3u8`` and ``to_json`` write the result.

Examples
--------
>>> table = SongTable.from_rows([
...     {"id": 1, "path": "/m/a.flac", "valence": 0.8, "arousal": 0.6},
...     {"id": 2, "path": "/m/b.flac", "valence": 0.2, "arousal": 0.2},
...     {"id": 3, "path": "/m/c.flac", "valence": 0.75, "arousal": 0.55}])
>>> [s["id"] for s in mood_playlist(table, "happy", Constraints(n=5)).songs]
[1, 3]
>>> query = playlist_query(valence="0.5:", sort="arousal-")
>>> [s["id"] for s in build_playlist(table, query, Constraints(n=5)).songs]
[1, 3]
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast, overload

import numpy as np

from ..core.errors import MoodmapError, as_fields, one_line, parameter
from ..core.mood import QUADRANT_CENTERS, anchor_point, mood_names, quadrant
from .playlist_query import (
    MODES,
    SHAPES,
    Sort,
    check_shape,
    one_mode,
    parse_sort,
    playlist_query,
    query_filters,
    query_name,
    query_sort,
)
from .song_table import AXES, Filters, Range, SongTable, label, region_mask, require_songs

__all__ = ["Constraints", "Playlist", "MODES", "SHAPES", "Sort", "parse_sort", "playlist_query", "query_filters",
           "query_name", "query_sort", "build_playlist", "mood_counts", "mood_playlist", "range_playlist",
           "near_playlist", "path_playlist", "curve_playlist", "render_playlist", "to_m3u8", "to_json"]

SAMPLING_WIDTH = 0.05  # seeded draws favour songs within ~this V/A distance of the ideal


@dataclass(frozen=True)
class Constraints:
    """What every playlist obeys: length, spacing on the plane, one song per artist."""

    n: int = 20
    min_distance: float = 0.0
    exclude_artist_repeats: bool = False
    seed: int | None = None  # None: the most fitting songs; a seed: a fresh draw weighted toward them


@dataclass(frozen=True)
class Playlist:
    """Songs in play order, what was asked for, and a note when fewer songs fit than were asked."""

    title: str
    songs: list[dict]
    # the note with the parameters it names marked (core.errors.parameter), for a front end to say them its way
    marked_note: str | None = None
    query: dict = field(default_factory=dict)

    @property
    def note(self) -> str | None:
        """The note in the APIs' terms (``quadrant Q3``; the command line says ``--quadrant Q3``)."""
        return None if self.marked_note is None else as_fields(self.marked_note)


def mood_counts(table: SongTable) -> dict[str, int]:
    """How many songs each ``--mood`` (named emotion) and ``--quadrant`` would draw from: what
    playlists a library can make."""
    return {name: int(region_mask(table, name).sum()) for name in mood_names()}


def mood_playlist(table: SongTable, mood: str, constraints: Constraints = Constraints(),
                  filters: Filters = Filters(), sort: Sort | None = None) -> Playlist:
    """Songs of one mood (a named emotion) or quadrant that pass ``filters``, the most typical first
    (or, with ``sort``, the first in its order)."""
    require_songs(table)
    mask = region_mask(table, mood)  # raises for an unknown mood
    center = anchor_point(mood)
    wider = "" if filters else _wider(table, mood)  # its quadrant holds more: not a hint once filtered
    if filters:
        mask &= table.matching(filters)
    if not mask.any():
        raise MoodmapError(None, f"no song in the library is {mood!r}{_with(filters)}{wider}")
    cost = _sort_cost(table, sort) if sort else _expected_distance(table, np.asarray(center), 0.0)
    cost[~mask] = np.inf
    chosen = _greedy(table, cost, constraints)
    playlist = _playlist(table, chosen, f"{mood} — {_songs(len(chosen))}", constraints, {"mood": mood})
    if playlist.note and len(chosen) == int(mask.sum()):  # the mood ran out, not the rules
        where = (f"in {mood.strip().upper()}" if mood.strip().upper() in QUADRANT_CENTERS
                 else f"{mood!r} (their nearest named emotion)")
        marked = (f"only {_songs(len(chosen))} {_are(len(chosen))} {where}{_with(filters)}; "
                  f"{constraints.n} asked for{wider}")
        playlist = replace(playlist, marked_note=marked)
    return playlist


def range_playlist(table: SongTable, filters: Filters, constraints: Constraints = Constraints(),
                   sort: Sort | None = None) -> Playlist:
    """The songs that pass ``filters`` (ranges of valence and arousal, parts of tags): the most typical
    of the region first (nearest the middle of the ranges, the plane's where open), or in ``sort``'s order."""
    require_songs(table)
    mask = table.matching(filters)
    if not mask.any():
        raise MoodmapError(None, f"no song in the library has {filters.describe()}")
    if sort:
        cost = _sort_cost(table, sort)
    else:
        middle = [np.mean(_ends(filters.ranges.get(axis, Range()))) for axis in AXES]
        cost = _expected_distance(table, np.asarray(middle), 0.0)
    cost[~mask] = np.inf
    chosen = _greedy(table, cost, constraints)
    what = filters.describe() or "all songs"
    title = f"{what}{f', by {sort.describe()}' if sort else ''} — {_songs(len(chosen))}"
    playlist = _playlist(table, chosen, title, constraints, {})
    if playlist.note and len(chosen) == int(mask.sum()):  # the filters ran out, not the rules
        held = f"{'has' if len(chosen) == 1 else 'have'} {what}" if filters.describe() else "in the library"
        playlist = replace(playlist, marked_note=f"only {_songs(len(chosen))} {held}; {constraints.n} asked for")
    return playlist


def _ends(bounds: Range) -> tuple[float, float]:
    return (0.0 if bounds.low is None else bounds.low, 1.0 if bounds.high is None else bounds.high)


def _with(filters: Filters) -> str:
    return f" with {filters.describe()}" if filters else ""


def _songs(n: int) -> str:
    return f"{n} song" + ("" if n == 1 else "s")


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _wider(table: SongTable, mood: str) -> str:
    """How to ask for more songs like ``mood``: its quadrant, when that holds more."""
    point = anchor_point(mood)
    assert point is not None  # mood_playlist's region_mask has already refused an unknown mood
    v, a = point
    quadrant_name = quadrant(v, a)
    if quadrant_name is None or quadrant_name == mood.strip().upper():
        return ""
    count = int(region_mask(table, quadrant_name).sum())
    if count <= int(region_mask(table, mood).sum()):
        return ""
    return f"; its quadrant holds {count}: {parameter('quadrant')} {quadrant_name}"


def near_playlist(table: SongTable, song: str | int, constraints: Constraints = Constraints(),
                  filters: Filters = Filters(), sort: Sort | None = None) -> Playlist:
    """The songs closest to one song on the plane, weighted by how sure the model is of both, among
    those that pass ``filters``; nearest first, or those same songs in ``sort``'s order.

    Distance is the expected squared distance between the two uncertain positions
    (squared gap plus both spreads squared), so a song the model is unsure about ranks lower.
    """
    require_songs(table)
    origin = table.find(song)
    cost = _expected_distance(table, table.points[origin], float((table.spread[origin] ** 2).sum()))
    if filters:
        cost[~table.matching(filters)] = np.inf
    cost[origin] = np.inf
    chosen = _greedy(table, cost, constraints, taken=[origin])[1:]
    if sort:
        chosen = sorted(chosen, key=lambda i: _sort_cost(table, sort, i))
    return _playlist(table, chosen, f"near {label(table.rows[origin])}", constraints, {"near": song})


def path_playlist(table: SongTable, start: str | int, end: str | int, steps: int,
                  constraints: Constraints = Constraints(), filters: Filters = Filters()) -> Playlist:
    """A walk of ``steps`` songs from one song to another along the straight line between them.

    Each step takes the unused song nearest the next evenly spaced point of the line among
    those strictly closer to the target than the previous step, so the walk never turns back.
    The steps between the two songs given are songs that pass ``filters``.
    """
    require_songs(table)
    a, b = table.find(start), table.find(end)
    if a == b:
        raise MoodmapError(None, f"{parameter('from')} and {parameter('to')} are the same song")
    if steps < 2:
        raise MoodmapError(None, "a mood path needs at least 2 steps")
    to_end = _squared_distance(table, table.points[b])
    excluded = ~table.matching(filters) if filters else np.zeros(len(table), dtype=bool)
    chosen = [a]
    for k in range(1, steps - 1):
        waypoint = table.points[a] + (table.points[b] - table.points[a]) * k / (steps - 1)
        cost = _squared_distance(table, waypoint)
        cost[(to_end >= to_end[chosen[-1]]) | (to_end == 0) | excluded] = np.inf
        cost[[a, b, *chosen]] = np.inf
        pick = _extend(table, cost, constraints, chosen)
        if len(pick) == len(chosen):
            break  # nothing usable lies further along the line
        chosen = pick
    chosen.append(b)
    title = f"{label(table.rows[a])} → {label(table.rows[b])}"
    return _playlist(table, chosen, title, constraints, {"from": start, "to": end, "steps": steps}, wanted=steps)


def curve_playlist(table: SongTable, shape: str, constraints: Constraints = Constraints(),
                   filters: Filters = Filters()) -> Playlist:
    """An energy curve: arousal that rises (workout), falls (wind-down) or rises then falls (arc).

    Step targets run between the 10th and 90th arousal percentiles of the songs that pass
    ``filters`` (all: the library's); each step takes the unused one nearest its target that
    keeps the curve's direction, with valence kept close to the previous song's so the mood
    does not jump.
    """
    require_songs(table)
    check_shape(shape)
    usable = table.matching(filters) if filters else np.ones(len(table), dtype=bool)
    if not usable.any():
        raise MoodmapError(None, f"no song in the library has {filters.describe()}")
    n = constraints.n
    low, high = np.percentile(table.points[usable, 1], [10, 90])
    progress = np.linspace(0.0, 1.0, n)
    targets = {"rise": progress, "fall": 1 - progress, "arc": np.sin(np.pi * progress)}[shape]
    targets = low + (high - low) * targets
    direction = np.sign(np.diff(targets, prepend=targets[0]))
    if shape == "arc":
        direction[: n // 2 + 1] = 1
        direction[n // 2 + 1:] = -1
    rng = None if constraints.seed is None else np.random.default_rng(constraints.seed)
    arousal, valence = table.points[:, 1], table.points[:, 0]
    chosen: list[int] = []
    for k in range(n):
        cost = np.abs(arousal - targets[k])
        if chosen:
            last = chosen[-1]
            cost = cost + 0.5 * np.abs(valence - valence[last])
            wrong_way = (arousal - arousal[last]) * direction[k] < 0
            cost[wrong_way] = np.inf
        else:
            cost = cost + 0.5 * np.abs(valence - np.median(valence[usable]))
        cost[~usable] = np.inf
        pick = _extend(table, cost, constraints, chosen, None if rng is None else int(rng.integers(2**32)))
        if len(pick) == len(chosen):
            break
        chosen = pick
    return _playlist(table, chosen, f"arousal {shape} — {_songs(len(chosen))}", constraints, {"arousal": shape})


def build_playlist(table: SongTable, query: dict, constraints: Constraints = Constraints(),
                   steps: int = 10) -> Playlist:
    """One playlist from a query naming at most one mode: ``mood``, ``near``, ``path`` (start, end) or
    ``arousal``, narrowed by its ``filters`` and ordered by its ``sort`` (``playlist_query`` makes one).

    The CLI and the web app both come through here, so a query means the same everywhere.
    """
    mode, value = one_mode(query)
    filters, sort = query_filters(query), query_sort(query)
    if sort and constraints.seed is not None:
        raise MoodmapError(None, f"{parameter('seed')} draws a varied playlist and {parameter('sort')} puts it in "
                                 "order: choose one")
    if mode == "mood":
        result = mood_playlist(table, value, constraints, filters, sort)
    elif mode == "near":
        result = near_playlist(table, value, constraints, filters, sort)
    elif mode == "path":
        start, end = value
        if not (start and end):
            raise MoodmapError(None, "a mood path needs both a start (from) and an end (to) song")
        result = path_playlist(table, start, end, steps, constraints, filters)
    elif mode == "arousal":
        result = curve_playlist(table, value, constraints, filters)
    else:
        result = range_playlist(table, filters, constraints, sort)
    if filters and mode != "range":
        result = replace(result, title=f"{result.title} · {filters.describe()}")
    return replace(result, query={**result.query, **{k: query[k] for k in ("filters", "sort") if k in query}})


def render_playlist(playlist: Playlist, format: str, destination: str | Path | None = None,
                    absolute: bool = False) -> str:
    """The playlist as ``m3u8`` or ``json`` text."""
    if format == "m3u8":
        return to_m3u8(playlist, destination, absolute)
    if format == "json":
        return to_json(playlist)
    raise MoodmapError(None, f"unknown playlist format {format!r}; use m3u8 or json")


def to_m3u8(playlist: Playlist, destination: str | Path | None = None, absolute: bool = False,
            relative_to: str | Path | None = None, locate: Callable[[dict], str] | None = None) -> str:
    """Extended M3U (UTF-8) text; paths relative to the playlist's folder unless ``absolute``, or
    to ``relative_to`` (MPD's playlist_directory wants them relative to its music folder); or
    whatever ``locate(song)`` says (a server's URL for the song's audio)."""
    # cast: Path(destination) runs only when relative_to is empty, and the condition then guarantees a destination
    base = Path(relative_to or Path(cast("str | Path", destination)).resolve().parent).resolve() \
        if (destination or relative_to) and not absolute else None
    lines = ["#EXTM3U", f"#PLAYLIST:{one_line(playlist.title)}"]
    for song in playlist.songs:
        seconds = -1 if song["duration"] is None else int(round(song["duration"]))
        lines.append(f"#EXTINF:{seconds},{one_line(label(song))}")
        path = Path(song["path"])
        lines.append(locate(song) if locate else
                     (os.path.relpath(path, base) if base else str(path.resolve())).replace(os.sep, "/"))
    return "\n".join(lines) + "\n"


def to_json(playlist: Playlist) -> str:
    """The playlist as JSON: title, query, note and the songs with their mood."""
    return json.dumps({"title": playlist.title, "query": playlist.query, "note": playlist.note,
                       "songs": playlist.songs}, ensure_ascii=False, indent=2)


@overload
def _sort_cost(table: SongTable, sort: Sort, index: None = None) -> np.ndarray: ...
@overload
def _sort_cost(table: SongTable, sort: Sort, index: int) -> float: ...
def _sort_cost(table: SongTable, sort: Sort, index: int | None = None) -> np.ndarray | float:
    """What ``sort`` puts first costs least: each song's value (negated for highest first), or one song's."""
    column = table.points[:, AXES.index(sort.field)]
    values = column if index is None else column[index]
    return -values if sort.descending else (values.copy() if index is None else values)


def _squared_distance(table: SongTable, point: np.ndarray) -> np.ndarray:
    """Squared distance from each song to ``point`` (a fresh array)."""
    dv = table.points[:, 0] - point[0]
    da = table.points[:, 1] - point[1]
    dv *= dv
    da *= da
    dv += da
    return dv


def _expected_distance(table: SongTable, point: np.ndarray, point_variance: float) -> np.ndarray:
    """Expected squared distance from each song (an uncertain position) to ``point``."""
    return _squared_distance(table, point) + (table.spread ** 2).sum(axis=1) + point_variance


def _ranking(cost: np.ndarray, seed: int | None, need: int) -> Iterator[int]:
    """Candidates, cheapest first (or, seeded, a draw without replacement weighted by exp(−cost/width²)).

    The best one costs a single pass; then only the next few are sorted, and the rest only
    when constraints reject many, so a query over 100 000 songs never sorts them all.
    """
    keys = cost if seed is None else cost / SAMPLING_WIDTH**2 - np.random.default_rng(seed).gumbel(size=len(cost))
    if not len(keys):
        return
    best = int(np.argmin(keys))
    if not np.isfinite(keys[best]):
        return
    yield best
    keys = keys.copy()
    keys[best] = np.inf
    finite = int(np.isfinite(keys).sum())
    head = min(finite, max(64, 8 * need))
    first = np.argpartition(keys, head - 1)[:head] if 0 < head < len(keys) else np.flatnonzero(np.isfinite(keys))
    first = first[np.argsort(keys[first], kind="stable")]
    yield from (int(i) for i in first)
    if head < finite:
        keys[first] = np.inf
        yield from (int(i) for i in np.argsort(keys, kind="stable")[: finite - head])


def _greedy(table: SongTable, cost: np.ndarray, constraints: Constraints, taken: Sequence[int] = ()) -> list[int]:
    """Take candidates in cost order while they keep ``min_distance`` and (optionally) unique artists."""
    chosen = list(taken)
    used = set(chosen)
    picked = table.points[chosen] if chosen else np.empty((0, 2))
    artists = {table.artists[i] for i in chosen} - {""}
    goal = len(chosen) + constraints.n
    if constraints.n < 1:
        return chosen
    for index in _ranking(cost, constraints.seed, constraints.n):
        if index in used:
            continue
        artist = table.artists[index]
        if constraints.exclude_artist_repeats and artist and artist in artists:
            continue
        if constraints.min_distance > 0 and len(picked) and \
                np.min(np.linalg.norm(picked - table.points[index], axis=1)) < constraints.min_distance:
            continue
        chosen.append(index)
        used.add(index)
        picked = np.vstack([picked, table.points[index]])
        artists.add(artist)
        if len(chosen) >= goal:
            break
    return chosen


def _extend(table: SongTable, cost: np.ndarray, constraints: Constraints, chosen: list[int],
            seed: int | None = None) -> list[int]:
    """``chosen`` plus the one best usable song by ``cost`` (unchanged when none is usable)."""
    one = Constraints(1, constraints.min_distance, constraints.exclude_artist_repeats, seed)
    return _greedy(table, cost, one, taken=chosen)


def _playlist(table: SongTable, chosen: list[int], title: str, constraints: Constraints, query: dict,
              wanted: int | None = None) -> Playlist:
    wanted = constraints.n if wanted is None else wanted
    note = None
    if len(chosen) < wanted:
        note = f"only {_songs(len(chosen))} fit (library size, region, distance or artist rule); {wanted} asked for"
    query = {**query, "n": wanted, "min_distance": constraints.min_distance,
             "exclude_artist_repeats": constraints.exclude_artist_repeats, "seed": constraints.seed}
    return Playlist(title, [dict(table.rows[i]) for i in chosen], note, query)
