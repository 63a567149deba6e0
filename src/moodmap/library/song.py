"""One song of the library index, defined once: its columns, their SQL types, and where each is shown.

The index's ``songs`` table, the rows that playlists, the map and the web app read, the CSV
export and the map's data are all views of this one record, so a field added here reaches each
view it is marked for and nowhere else.

Examples
--------
>>> from moodmap.library.song import Song, columns
>>> columns("map")
('id', 'path', 'title', 'artist', 'album', 'valence', 'arousal', 'quadrant', 'emotion')
>>> Song(path="/music/a.flac", fingerprint="f", size=1, mtime_ns=2, valence=0.6, arousal=0.7,
...      emotion="happy", model="improved", model_sha="s", analysed_at="2026-12-01T00:00:00Z").row()["valence"]
0.6
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

CATALOGUE = "catalogue"  # what playlists, maps and the web app work from (Library.catalogue)
TABLE = "table"  # the fields a SongTable keeps of each song
EXPORT = "export"  # `moodmap library export` (CSV)
MAP = "map"  # what the mood map's script draws
VIEWS = (CATALOGUE, TABLE, EXPORT, MAP)
LISTED = VIEWS  # a field every view shows: a song's names and its mood


def _column(sql: str, *views: str, note: str = "") -> Any:
    """A field of the record: its column's SQL type and constraints, the views that show it."""
    return field(default=None, metadata={"sql": sql, "views": frozenset(views), "note": note})


@dataclass(frozen=True, kw_only=True)
class Song:
    """One row of the index's ``songs`` table, in its column order. ``id`` is None until the index
    gives it one; a re-analysed song keeps its id (``Library.save``)."""

    id: int | None = _column("INTEGER PRIMARY KEY", CATALOGUE, TABLE, MAP)
    path: str = _column("TEXT NOT NULL UNIQUE", *LISTED)
    fingerprint: str = _column("TEXT NOT NULL")
    size: int = _column("INTEGER NOT NULL")
    mtime_ns: int = _column("INTEGER NOT NULL")
    title: str | None = _column("TEXT", *LISTED)
    artist: str | None = _column("TEXT", *LISTED)
    album: str | None = _column("TEXT", *LISTED)
    genre: str | None = _column("TEXT", CATALOGUE, TABLE, EXPORT)
    duration: float | None = _column("REAL", CATALOGUE, TABLE, EXPORT)
    valence: float = _column("REAL NOT NULL", *LISTED)
    arousal: float = _column("REAL NOT NULL", *LISTED)
    valence_spread: float | None = _column("REAL", CATALOGUE, TABLE, EXPORT)
    arousal_spread: float | None = _column("REAL", CATALOGUE, TABLE, EXPORT)
    quadrant: str | None = _column("TEXT", *LISTED)
    emotion: str = _column("TEXT NOT NULL", *LISTED)
    model: str = _column("TEXT NOT NULL", CATALOGUE, EXPORT)
    model_sha: str = _column("TEXT NOT NULL")
    timeline: str | None = _column("TEXT", note="JSON: the mood over time (scan --timeline)")
    analysed_at: str = _column("TEXT NOT NULL", EXPORT)
    file_id: str | None = _column("TEXT", CATALOGUE, note="the file its path resolves to (FILE_ID): its names "
                                                          "are one song; NULL: not seen since schema 4")

    @classmethod
    def from_row(cls, row: dict) -> Song:
        """A stored row (``Library.song``) as a record."""
        return cls(**row)

    def row(self) -> dict:
        """The columns to store, in order; without ``id`` while the index has not given one."""
        values = asdict(self)
        if values["id"] is None:
            del values["id"]
        return values


def columns(view: str) -> tuple[str, ...]:
    """The names of the song's fields that ``view`` shows, in the table's order."""
    if view not in VIEWS:
        raise ValueError(f"no view {view!r} of a song; one of {', '.join(VIEWS)}")
    return tuple(f.name for f in fields(Song) if view in f.metadata["views"])


def songs_table_sql() -> str:
    """The ``CREATE TABLE songs`` statement of the index's schema, one column a line."""
    every = fields(Song)
    lines = []
    for i, f in enumerate(every):
        comma = "," if i < len(every) - 1 else ""
        note = f"  -- {f.metadata['note']}" if f.metadata["note"] else ""
        lines.append(f"    {f.name} {f.metadata['sql']}{comma}{note}\n")
    return "CREATE TABLE IF NOT EXISTS songs (\n" + "".join(lines) + ");"
