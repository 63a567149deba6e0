"""Mode twins (issue 33): every song of a ``moodmap synth`` set played again in its parallel mode.

A twin is the same score — same seed, so the same notes' rhythm, voicing, instruments,
tempo and annotator noise — with the scale swapped for its parallel mode (ionian ↔ aeolian,
mixolydian ↔ dorian, lydian ↔ phrygian), so the only thing that differs between the two is
the mode, and its label follows from score.py's mode term (``rate``), as every synthetic
label does. The pairs teach what the parallel major/minor does to valence, which the
real-music check (benchmarks/real_music.py) finds the shipped model barely hears.

``write_mode_twins(source, out)`` writes a manifest data set::

    OUT/twins/m<id>.<format>   the twins' audio
    OUT/manifest.csv           originals (paths into SOURCE) and twins; group = the original's id,
                               so a song and its twin never straddle a grouped split; 1–9 ratings
    OUT/synth_params.csv       both halves' parameters (bpm for tempo augmentation, provenance)
    OUT/synth.json             the source's spec, with ``mode_twins: true``

Prepare it with ``moodmap prepare OUT/manifest.csv --format manifest --scale 1-9``. The
originals keep their ids, so the grouped split holds out the same songs as on the source
set's own cache, and ``moodmap evaluate`` of a twin-trained model on that cache scores the
same validation songs. ``write_twin_set`` writes these files for any twin set (tempo_twins.py
uses it too).
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from ...core.engines import run_tasks
from ...core.errors import MoodmapError
from .score import SongParams
from .synth import SynthSpec, _render_task, plan, write_rated_set

PARALLEL_MODES = {"ionian": "aeolian", "aeolian": "ionian", "mixolydian": "dorian", "dorian": "mixolydian",
                  "lydian": "phrygian", "phrygian": "lydian"}
TWIN_PREFIX = "m"


def twin(params: SongParams) -> SongParams:
    """The same song in its parallel mode."""
    return replace(params, song_id=f"{TWIN_PREFIX}{params.song_id}", mode=PARALLEL_MODES[params.mode])


def source_spec(source: Path) -> SynthSpec:
    try:
        spec = json.loads((source / "synth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MoodmapError(source, f"not a `moodmap synth` set with a synth.json: {exc}") from exc
    return SynthSpec(**{k: v for k, v in spec.items() if k in SynthSpec.__dataclass_fields__})


def write_mode_twins(source: str | Path, out: str | Path, jobs: int | None = None) -> Path:
    """Render every song of ``source`` in its parallel mode under ``out``; returns the manifest path."""
    source, out = Path(source).resolve(), Path(out)
    spec = source_spec(source)
    originals = plan(spec)
    twins = [twin(p) for p in originals]
    paths = twin_paths(out, twins, spec)
    todo = [(t, spec, path) for t, path in zip(twins, paths) if not path.exists()]
    for _ in run_tasks(_render_task, todo, jobs):
        pass
    return write_twin_set(source, out, spec, originals, twins, paths, {"mode_twins": True})


def twin_paths(out: Path, twins: list[SongParams], spec: SynthSpec) -> list[Path]:
    """Where each twin's audio goes (``OUT/twins/<id>.<format>``); makes the folder."""
    (out / "twins").mkdir(parents=True, exist_ok=True)
    return [(out / "twins" / f"{t.song_id}.{spec.audio_format}").resolve() for t in twins]


def original_path(source: Path, params: SongParams, spec: SynthSpec) -> Path:
    """The audio of a song of the ``moodmap synth`` set ``source``."""
    return source / "clips_45seconds" / f"{params.song_id}.{spec.audio_format}"


def write_twin_set(source: Path, out: Path, spec: SynthSpec, originals: list[SongParams], twins: list[SongParams],
                   paths: list[Path], marker: dict[str, object]) -> Path:
    """The manifest set of originals and their (already rendered) twins, each labelled by ``rate``
    (group = the original's id); ``synth.json`` is the source's spec + ``marker``. Returns the manifest path."""
    entries = [entry for original, double, twin_path in zip(originals, twins, paths)
               for entry in ((original_path(source, original, spec), original, original.song_id),
                             (twin_path, double, original.song_id))]
    return write_rated_set(out, entries, {**asdict(spec), **marker, "source": str(source)})
