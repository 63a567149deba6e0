"""A folder of audio sorted into category sub-folders (happy/, sad/, Q1/, …).

For categorical data sets: each category becomes the anchor point of its named
emotion or quadrant (moodmap.core.mood), so they train and evaluate like the rest.
Unknown category names are reported and skipped.
"""
from __future__ import annotations

from pathlib import Path

from ...core.errors import DatasetError
from ...core.mood import anchor_point
from .table import AUDIO_EXTENSIONS, Dataset, Problem, Song


def load_folders(root: str | Path) -> Dataset:
    """Read ``ROOT/<category>/**/<audio>`` into the common table."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "not a folder")
    problems: list[Problem] = []
    songs = []
    for category in sorted(p for p in root.iterdir() if p.is_dir()):
        point = anchor_point(category.name)
        if point is None:
            problems.append(Problem(category.name, "not a known emotion or quadrant name; folder skipped"))
            continue
        for path in sorted(category.rglob("*")):
            if path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS:
                song_id = path.relative_to(root).as_posix()
                songs.append(Song(song_id, path, point[0], point[1], split=None, group=None))
    if not songs:
        raise DatasetError(root, "no audio in known category folders (e.g. happy/, sad/, angry/, relaxed/, Q1/…Q4/)")
    return Dataset("folders", root, songs, problems)
