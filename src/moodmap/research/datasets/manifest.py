"""A generic manifest: one CSV row per song, for any labelled audio you have.

Columns: ``path,valence,arousal`` and optionally ``group`` (songs sharing a group —
e.g. one album or artist — never straddle a grouped split), ``song_id``,
``valence_sd``, ``arousal_sd`` and ``split``. Relative paths are relative to the
CSV's folder. The rating scale is declared (``--scale 1-9``, ``0-1``, ``-1-1``, …).
"""
from __future__ import annotations

from pathlib import Path

from ...core.errors import DatasetError
from .table import Dataset, Problem, Scale, Song, number, read_csv_rows, require_columns, songs_with_audio


def load_manifest(csv_path: str | Path, scale: str | Scale = "0-1") -> Dataset:
    """Read a manifest CSV into the common table, mapping ``scale`` onto 0–1."""
    csv_path = Path(csv_path)
    if csv_path.is_dir():
        candidates = sorted(csv_path.glob("*.csv"))
        if len(candidates) != 1:
            raise DatasetError(csv_path, "give the manifest CSV itself (the folder holds "
                               f"{len(candidates)} CSV files)")
        csv_path = candidates[0]
    scale = Scale.parse(scale) if isinstance(scale, str) else scale
    rows = read_csv_rows(csv_path)
    require_columns(csv_path, rows, ["path", "valence", "arousal"])
    problems: list[Problem] = []
    entries = []
    for line, row in enumerate(rows, start=2):
        label = row.get("song_id") or row["path"] or f"line {line}"
        valence = number(csv_path, label, "valence", row["valence"])
        arousal = number(csv_path, label, "arousal", row["arousal"])
        if not (scale.contains(valence) and scale.contains(arousal)):
            problems.append(Problem(label, f"valence/arousal outside the declared scale {scale.low:g}–{scale.high:g}"))
            continue
        path = Path(row["path"])
        entries.append(Song(
            song_id=row.get("song_id") or row["path"],
            path=path if path.is_absolute() else csv_path.parent / path,
            valence=scale.value(valence), arousal=scale.value(arousal),
            valence_sd=_optional_spread(csv_path, label, row, "valence_sd", scale),
            arousal_sd=_optional_spread(csv_path, label, row, "arousal_sd", scale),
            split=row.get("split") or None, group=row.get("group") or None,
        ))
    return songs_with_audio("manifest", csv_path.parent, entries, problems)


def _optional_spread(path: Path, label: str, row: dict[str, str], column: str, scale: Scale) -> float | None:
    text = row.get(column, "")
    return scale.spread(number(path, label, column, text)) if text else None
