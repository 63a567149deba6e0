"""Data set loaders: each reads a public data set's own layout into one table.

>>> from moodmap.research.datasets import FORMATS
>>> sorted(FORMATS)
['deam', 'emomusic', 'folders', 'manifest', 'pmemo']
"""
from __future__ import annotations

from pathlib import Path

from ...core.errors import DatasetError
from .deam import load_deam
from .emomusic import load_emomusic
from .folders import load_folders
from .manifest import load_manifest
from .pmemo import load_pmemo
from .table import Dataset, Problem, Scale, Song

FORMATS = {
    "emomusic": load_emomusic,
    "deam": load_deam,
    "pmemo": load_pmemo,
    "manifest": load_manifest,
    "folders": load_folders,
}


def detect_format(path: str | Path) -> str:
    """Guess a data set's format from the files it holds."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return "manifest"
    if not path.is_dir():
        raise DatasetError(path, "no such data set folder or manifest file")
    if any(path.rglob("static_annotations_averaged_songs_*.csv")):
        return "deam"
    if any(path.rglob("static_annotations_std.csv")) or (path / "chorus").is_dir():
        return "pmemo"
    if any(path.rglob("static_annotations.csv")):
        return "emomusic"
    return "folders"


def load_dataset(path: str | Path, format: str = "auto", scale: str = "0-1") -> Dataset:
    """Load any supported data set; ``format="auto"`` looks at its files."""
    kind = detect_format(path) if format == "auto" else format
    if kind not in FORMATS:
        raise DatasetError(path, f"unknown data set format {kind!r}; one of {', '.join(FORMATS)}")
    if kind == "manifest":
        return load_manifest(path, scale)
    return FORMATS[kind](path)


__all__ = ["Dataset", "Problem", "Scale", "Song", "FORMATS", "detect_format", "load_dataset",
           "load_emomusic", "load_deam", "load_pmemo", "load_manifest", "load_folders"]
