"""PMEmo 2019 (794 pop choruses): static annotations on 0–1, with their sds.

Layout read::

    ROOT/annotations/static_annotations.csv       musicId, Arousal(mean), Valence(mean)
    ROOT/annotations/static_annotations_std.csv   musicId, Arousal(std), Valence(std)
    ROOT/chorus/<musicId>.mp3

PMEmo has no official split.
"""
from __future__ import annotations

from pathlib import Path

from ...core.errors import DatasetError
from .table import (
    UNIT,
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

MEANS = ("annotations/static_annotations.csv", "static_annotations.csv")
STDS = ("annotations/static_annotations_std.csv", "static_annotations_std.csv")
AUDIO_DIR = "chorus"


def load_pmemo(root: str | Path) -> Dataset:
    """Read a PMEmo tree into the common table (already 0–1)."""
    root = Path(root)
    means_path = find_file(root, MEANS, "PMEmo static annotations")
    rows = read_csv_rows(means_path)
    require_columns(means_path, rows, ["musicId", "Arousal(mean)", "Valence(mean)"])
    spreads = _spreads(root)
    audio_dir = next((p for p in [means_path.parent.parent / AUDIO_DIR, root / AUDIO_DIR,
                                  *sorted(root.rglob(AUDIO_DIR))] if p.is_dir()), root / AUDIO_DIR)
    problems: list[Problem] = []
    entries = []
    for row in rows:
        sid = clean_id(row["musicId"])
        valence = number(means_path, sid, "Valence(mean)", row["Valence(mean)"])
        arousal = number(means_path, sid, "Arousal(mean)", row["Arousal(mean)"])
        if not (UNIT.contains(valence) and UNIT.contains(arousal)):
            problems.append(Problem(sid, "mean outside PMEmo's 0–1 scale"))
            continue
        valence_sd, arousal_sd = spreads.get(sid, (None, None))
        entries.append(Song(sid, find_audio(audio_dir, sid) or audio_dir / f"{sid}.mp3",
                            valence, arousal, valence_sd, arousal_sd))
    return songs_with_audio("pmemo", root, entries, problems)


def _spreads(root: Path) -> dict[str, tuple[float, float]]:
    try:
        path = find_file(root, STDS, "PMEmo annotation sds")
    except DatasetError:
        return {}
    rows = read_csv_rows(path)
    require_columns(path, rows, ["musicId", "Arousal(std)", "Valence(std)"])
    return {clean_id(r["musicId"]): (number(path, r["musicId"], "Valence(std)", r["Valence(std)"]),
                           number(path, r["musicId"], "Arousal(std)", r["Arousal(std)"])) for r in rows}
