"""Tempo twins (issue 33): every song of a ``moodmap synth`` set played again at another tempo.

A song's twin is played ``r`` times as fast (``r`` seeded per song, log-uniform on 0.75–0.9 or
1.1–1.33, never ≈ 1) and labelled by score.py's ``rate`` of the same parameters with the bpm
multiplied by ``r`` — the generator's own label for that tempo, no approximation. When
``bpm × r`` would leave the generator's 60–180 bpm range the rate is inverted (``1/r`` always
lands inside it), so every twin is a song the generator could have drawn and no label is clipped.

Two ways to make the audio (``how``):

- ``"render"``: the original's score (same notes, drums, velocities) with every onset and
  duration divided by ``r``, played by the original's instruments and mix. It is *not*
  ``compose`` run again at the new bpm: the score's random stream depends on the bpm (the
  number of bars decides where the melody's and the drums' draws start) and so do some of the
  generator's arrangement choices (driving pads, walking bass, drum level, four-on-the-floor,
  the soundfont palette, the reverb send) — re-composing would give other notes and, often,
  another arrangement. Scaling the score changes the tempo alone, as a player would, and unlike
  a time-stretch it leaves every note's attack and decay as the instrument plays it.
- ``"vocoder"``: the original's audio time-stretched by ``librosa.effects.time_stretch``
  (phase vocoder, pitch kept) — the real-music check's own stretch, whose smearing the shipped
  model hears as calm, here with the label of the faster or slower song.
- ``"mixed"``: half the songs each way (a seeded choice of which half).

Either way a twin lasts the original's length / ``r``. ``write_tempo_twins(source, out, how)``
writes the same manifest set as the mode twins (twins.py): originals keep their ids, ``group``
= the original's id; plus ``OUT/tempo_twins.csv`` (each twin's rate and how it was made).
"""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from ...core.atomic import atomic_write_text
from ...core.engines import run_tasks
from ...core.errors import MoodmapError
from .score import BPM_BASE, BPM_SPAN, SongParams, compose
from .synth import SynthSpec, plan, render_score, write_clip
from .twins import original_path, source_spec, twin_paths, write_twin_set

RATE_RANGES = ((0.75, 0.9), (1.1, 1.33))
HOWS = ("render", "vocoder", "mixed")
TWIN_PREFIX = "t"


def twin_rate(params: SongParams) -> float:
    """The song's seeded rate: a side (slower / faster) by a coin, then log-uniform within it;
    inverted when the new bpm would leave the generator's range."""
    rng = np.random.default_rng([params.seed, 5])
    low, high = RATE_RANGES[int(rng.integers(len(RATE_RANGES)))]
    r = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return r if BPM_BASE <= params.bpm * r <= BPM_BASE + BPM_SPAN else 1.0 / r


def tempo_twin(params: SongParams, r: float) -> SongParams:
    """The same song at ``r`` × its bpm (only ``tempo`` and the id change)."""
    bpm = params.bpm * r
    if not BPM_BASE - 1e-9 <= bpm <= BPM_BASE + BPM_SPAN + 1e-9:
        raise MoodmapError(None, f"song {params.song_id}: {bpm:.1f} bpm is outside the generator's range")
    return replace(params, song_id=f"{TWIN_PREFIX}{params.song_id}",
                   tempo=float(np.clip((bpm - BPM_BASE) / BPM_SPAN, 0.0, 1.0)))


def twin_methods(originals: list[SongParams], how: str, seed: int) -> list[str]:
    """How each twin is made; for ``"mixed"`` a seeded half of the songs get the vocoder."""
    if how not in HOWS:
        raise MoodmapError(None, f"how must be one of {', '.join(HOWS)}, not {how!r}")
    if how != "mixed":
        return [how] * len(originals)
    vocoded = set(np.random.default_rng([seed, 6]).permutation(len(originals))[: len(originals) // 2].tolist())
    return ["vocoder" if i in vocoded else "render" for i in range(len(originals))]


def faster_score(params: SongParams, seconds: float, r: float) -> tuple[list, list]:
    """The song's score played ``r`` times as fast: every onset and duration divided by ``r``."""
    notes, hits = compose(params, seconds)
    return ([replace(n, onset=n.onset / r, duration=n.duration / r) for n in notes],
            [replace(h, onset=h.onset / r) for h in hits])


def stretched_audio(path: Path, r: float, sample_rate: int) -> np.ndarray:
    """The file's audio time-stretched by the phase vocoder (pitch kept), at its original peak."""
    import librosa
    import soxr

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate).astype(np.float32)
    stretched = librosa.effects.time_stretch(mono, rate=r).astype(np.float32)
    peak = float(np.max(np.abs(stretched))) if stretched.size else 0.0
    return stretched * (float(np.max(np.abs(mono))) / peak) if peak > 0 else stretched


def render_tempo_twin(original: SongParams, r: float, method: str, spec: SynthSpec, source: Path, path: Path) -> Path:
    """Write one twin's audio (a no-op when it exists)."""
    if path.exists():
        return path
    if method == "render":
        notes, hits = faster_score(original, spec.seconds, r)
        audio = render_score(original, notes, hits, spec.seconds / r, spec)
    else:
        audio = stretched_audio(original_path(source, original, spec), r, spec.sample_rate)
    return write_clip(audio, spec, path)


def _render_task(task: tuple[SongParams, float, str, SynthSpec, Path, Path]) -> Path:
    return render_tempo_twin(*task)


def write_tempo_twins(source: str | Path, out: str | Path, how: str = "render", jobs: int | None = None) -> Path:
    """Give every song of ``source`` a tempo twin under ``out``; returns the manifest path."""
    source, out = Path(source).resolve(), Path(out)
    spec = source_spec(source)
    originals = plan(spec)
    rates = [twin_rate(p) for p in originals]
    methods = twin_methods(originals, how, spec.seed)
    twins = [tempo_twin(p, r) for p, r in zip(originals, rates)]
    paths = twin_paths(out, twins, spec)
    todo = [(p, r, m, spec, source, path) for p, r, m, path in zip(originals, rates, methods, paths)
            if not path.exists()]
    for _ in run_tasks(_render_task, todo, jobs):
        pass
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["song_id", "twin_id", "rate", "how", "bpm", "twin_bpm"])
    for p, t, r, m in zip(originals, twins, rates, methods):
        writer.writerow([p.song_id, t.song_id, f"{r:.4f}", m, f"{p.bpm:.2f}", f"{t.bpm:.2f}"])
    atomic_write_text(out / "tempo_twins.csv", table.getvalue())
    return write_twin_set(source, out, spec, originals, twins, paths, {"tempo_twins": how})
