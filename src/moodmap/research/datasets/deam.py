"""DEAM (MediaEval 2013–2015, 1802 songs): song-level static annotations.

Layout read::

    ROOT/…/song_level/static_annotations_averaged_songs_1_2000.csv
    ROOT/…/song_level/static_annotations_averaged_songs_2000_2058.csv
        song_id, valence_mean, valence_std, arousal_mean, arousal_std   (1–9)
    ROOT/MEMD_audio/<song_id>.mp3

Songs of the 2000–2058 file (the 2015 evaluation set, full-length songs) form the
official "test" split; the rest are "train".
"""
from __future__ import annotations

from pathlib import Path

from ...core.errors import DatasetError
from .table import (
    RATINGS_1_9,
    Dataset,
    Problem,
    Song,
    clean_id,
    find_audio,
    number,
    read_csv_rows,
    require_columns,
    songs_with_audio,
)

PATTERN = "static_annotations_averaged_songs_*.csv"
AUDIO_DIR = "MEMD_audio"
COLUMNS = ["song_id", "valence_mean", "valence_std", "arousal_mean", "arousal_std"]


def load_deam(root: str | Path) -> Dataset:
    """Read a DEAM tree into the common table (0–1 scale)."""
    root = Path(root)
    files = sorted(root.rglob(PATTERN))
    if not files:
        raise DatasetError(root, f"no DEAM annotations found (looked for {PATTERN})")
    audio_dir = next((p for p in [root / AUDIO_DIR, *sorted(root.rglob(AUDIO_DIR))] if p.is_dir()), root / AUDIO_DIR)
    problems: list[Problem] = []
    entries = []
    for path in files:
        rows = read_csv_rows(path)
        require_columns(path, rows, COLUMNS)
        split = "test" if "2000_2058" in path.name else "train"
        for row in rows:
            sid = clean_id(row["song_id"])
            v = {c: number(path, sid, c, row[c]) for c in COLUMNS[1:]}
            if not (RATINGS_1_9.contains(v["valence_mean"]) and RATINGS_1_9.contains(v["arousal_mean"])):
                problems.append(Problem(sid, "mean rating outside the 1–9 scale"))
                continue
            entries.append(Song(
                song_id=sid, path=find_audio(audio_dir, sid) or audio_dir / f"{sid}.mp3",
                valence=RATINGS_1_9.value(v["valence_mean"]), arousal=RATINGS_1_9.value(v["arousal_mean"]),
                valence_sd=RATINGS_1_9.spread(v["valence_std"]), arousal_sd=RATINGS_1_9.spread(v["arousal_std"]),
                split=split,
            ))
    return songs_with_audio("deam", root, entries, problems)
