"""The one table every data set loader returns, and the helpers they share.

Values inside moodmap are on the paper's 0–1 scale: ratings on 1–9 are divided
by 10 (as the paper does: rating 7 → 0.7); any other declared range is mapped linearly
onto 0–1.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ...core.errors import DatasetError

AUDIO_EXTENSIONS = (".mp3", ".flac", ".ogg", ".oga", ".opus", ".wav", ".aif", ".aiff", ".m4a", ".aac", ".mp4", ".wma")


@dataclass(frozen=True)
class Song:
    """One annotated song: where its audio is and where it sits on the plane (0–1)."""

    song_id: str
    path: Path
    valence: float
    arousal: float
    valence_sd: float | None = None
    arousal_sd: float | None = None
    split: str | None = None  # the data set's own split: "train" / "test", when it has one
    group: str | None = None  # songs sharing a group never straddle a grouped split

    @property
    def group_key(self) -> str:
        return self.group or self.song_id


@dataclass(frozen=True)
class Problem:
    """Something wrong with one entry that was reported and skipped."""

    item: str
    reason: str


@dataclass
class Dataset:
    """Songs of one data set, plus what was found wrong while reading it."""

    name: str
    root: Path
    songs: list[Song]
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.songs)


@dataclass(frozen=True)
class Scale:
    """A rating range, and how to map it onto 0–1."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> "Scale":
        """Parse ``"1-9"``, ``"0-1"``, ``"-1-1"`` or ``"-10..10"``."""
        cleaned = text.replace("..", ":").replace("to", ":")
        if ":" not in cleaned:
            head, sep, tail = cleaned[1:].partition("-")
            cleaned = cleaned[0] + head + ":" + tail if sep else cleaned
        try:
            low, high = (float(part) for part in cleaned.split(":"))
        except ValueError as exc:
            raise DatasetError(None, f"cannot read scale {text!r}; write it like 1-9, 0-1 or -1-1") from exc
        if not high > low:
            raise DatasetError(None, f"scale {text!r} must go from low to high")
        return cls(low, high)

    @property
    def is_paper_ratings(self) -> bool:
        return (self.low, self.high) == (1.0, 9.0)

    def value(self, x: float) -> float:
        """Map a rating to 0–1 (1–9 ratings: divided by 10, as the paper does)."""
        if self.is_paper_ratings:
            return x / 10.0
        return (x - self.low) / (self.high - self.low)

    def spread(self, sd: float) -> float:
        """Map a standard deviation the same way (scale only, no shift)."""
        return sd / 10.0 if self.is_paper_ratings else sd / (self.high - self.low)

    def contains(self, x: float, slack: float = 1e-6) -> bool:
        return self.low - slack <= x <= self.high + slack


RATINGS_1_9 = Scale(1.0, 9.0)
UNIT = Scale(0.0, 1.0)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV as dicts, with headers and cells stripped of spaces, tabs and BOMs.

    Delimiter sniffed among ``,``, ``;`` and tab, since annotation files come in all three.
    """
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise DatasetError(path, f"cannot read: {exc.strerror or exc}") from exc
    if not text.strip():
        raise DatasetError(path, "annotation file is empty")
    first = text.splitlines()[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().strip("\ufeff") for h in next(reader)]
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        rows.append({h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)})
    return rows


def require_columns(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    """Fail with the missing column names when a file lacks some."""
    present = set(rows[0]) if rows else set()
    missing = [c for c in columns if c not in present]
    if missing:
        raise DatasetError(path, f"missing column(s) {', '.join(missing)}; "
                                 f"found {', '.join(sorted(present)) or 'none'}")


def number(path: Path, row_id: str, column: str, text: str) -> float:
    """Parse one numeric cell, naming the row and column when it is not a number."""
    try:
        value = float(text)
    except ValueError as exc:
        raise DatasetError(path, f"row {row_id}: column {column} is not a number ({text!r})") from exc
    if value != value:
        raise DatasetError(path, f"row {row_id}: column {column} is NaN")
    return value


def clean_id(text: str) -> str:
    """Numeric ids appear as "2" or "2.0" depending on the export; keep the integer text."""
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    return str(int(value)) if value.is_integer() else text.strip()


def find_file(root: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of ``names`` found at ``root`` or below it (shallowest first)."""
    for name in names:
        direct = root / name
        if direct.is_file():
            return direct
    for name in names:
        found = sorted(root.rglob(name), key=lambda p: (len(p.parts), str(p)))
        if found:
            return found[0]
    raise DatasetError(root, f"no {what} found (looked for {', '.join(names)})")


def find_audio(directory: Path, stem: str, preferred: str | None = None) -> Path | None:
    """The audio file called ``stem`` (any audio extension) in ``directory``, or None."""
    if preferred:
        candidate = directory / preferred
        if candidate.is_file():
            return candidate
    for ext in AUDIO_EXTENSIONS:
        candidate = directory / f"{stem}{ext}"
        if candidate.is_file():
            return candidate
    return None


def songs_with_audio(name: str, root: Path, entries: list[Song], problems: list[Problem]) -> Dataset:
    """Keep entries whose audio exists; report the others; reject duplicate ids."""
    seen: set[str] = set()
    songs = []
    for song in entries:
        if song.song_id in seen:
            problems.append(Problem(song.song_id, "duplicate song id; kept the first"))
            continue
        seen.add(song.song_id)
        if not song.path.is_file():
            problems.append(Problem(song.song_id, f"annotated but no audio file at {song.path}"))
            continue
        songs.append(song)
    if not songs:
        raise DatasetError(root, f"no {name} songs with audio found")
    return Dataset(name, root, songs, problems)
