"""emoMusic / MediaEval 2013 "1000 songs": static annotations, 45 s clips, official split.

Layout read::

    ROOT/annotations/static_annotations.csv   song_id, mean_arousal, std_arousal, mean_valence, std_valence
    ROOT/annotations/songs_info.csv           …, "Mediaeval 2013 set" (development / evaluation)
    ROOT/clips_45seconds/<song_id>.mp3

Headers carry leading spaces and cells tabs in the real files; both are stripped.
Ratings are on 1–9 and become 0–1 by dividing by 10.
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
    find_file,
    number,
    read_csv_rows,
    require_columns,
    songs_with_audio,
)

ANNOTATIONS = "static_annotations.csv"
SONGS_INFO = "songs_info.csv"
AUDIO_DIR = "clips_45seconds"
SPLIT_COLUMN = "Mediaeval 2013 set"
OFFICIAL_SPLITS = {"development": "train", "evaluation": "test"}


def load_emomusic(root: str | Path) -> Dataset:
    """Read an emoMusic tree into the common table (0–1 scale, official split when present)."""
    root = Path(root)
    annotations = find_file(root, (f"annotations/{ANNOTATIONS}", ANNOTATIONS), "emoMusic static annotations")
    rows = read_csv_rows(annotations)
    columns = ["song_id", "mean_arousal", "std_arousal", "mean_valence", "std_valence"]
    require_columns(annotations, rows, columns)
    info = _songs_info(annotations.parent, root)
    audio_dir = _audio_dir(root)
    problems: list[Problem] = []
    entries = []
    for row in rows:
        sid = clean_id(row["song_id"])
        values = {c: number(annotations, sid, c, row[c]) for c in columns[1:]}
        out_of_scale = [c for c, v in values.items() if c.startswith("mean") and not RATINGS_1_9.contains(v)]
        if out_of_scale:
            problems.append(Problem(sid, f"{', '.join(out_of_scale)} outside the 1–9 rating scale"))
            continue
        split, file_name = info.get(sid, (None, None))
        path = find_audio(audio_dir, sid, file_name) or audio_dir / f"{sid}.mp3"
        entries.append(Song(
            song_id=sid, path=path,
            valence=RATINGS_1_9.value(values["mean_valence"]), arousal=RATINGS_1_9.value(values["mean_arousal"]),
            valence_sd=RATINGS_1_9.spread(values["std_valence"]), arousal_sd=RATINGS_1_9.spread(values["std_arousal"]),
            split=split,
        ))
    return songs_with_audio("emomusic", root, entries, problems)


def _songs_info(annotation_dir: Path, root: Path) -> dict[str, tuple[str | None, str | None]]:
    """song id → (official split, audio file name), from songs_info.csv when it exists."""
    try:
        path = find_file(root, (f"annotations/{SONGS_INFO}", SONGS_INFO), "songs_info.csv")
    except DatasetError:
        return {}
    rows = read_csv_rows(path)
    out = {}
    for row in rows:
        if "song_id" not in row:
            raise DatasetError(path, "missing column song_id")
        split = OFFICIAL_SPLITS.get(row.get(SPLIT_COLUMN, "").strip().lower())
        out[clean_id(row["song_id"])] = (split, row.get("file_name") or None)
    return out


def _audio_dir(root: Path) -> Path:
    direct = root / AUDIO_DIR
    if direct.is_dir():
        return direct
    found = sorted(p for p in root.rglob(AUDIO_DIR) if p.is_dir())
    return found[0] if found else direct
