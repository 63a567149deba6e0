"""Synthetic labelled music, written in the emoMusic layout so every command works on it.

``write_synth_dataset`` draws each song's musical parameters (score.py), renders it
(render.py), and writes::

    OUT/clips_45seconds/<id>.flac               the audio (or mp3/ogg/wav)
    OUT/annotations/static_annotations.csv      emoMusic's columns, 1–9 ratings
    OUT/annotations/songs_info.csv              metadata + official-style split
    OUT/synth_params.csv                        the parameters and noise-free truth

Song ``i`` of seed ``s`` is the same whatever the number of songs, so a set can
be grown, and a killed run resumes: finished clips are kept (written atomically).
Two renderers play the same scores: ``numpy`` (wavetable voices, the default, no
dependency) and ``soundfont`` (sampled instruments through FluidSynth; soundfont.py).
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from ...core.atomic import atomic_write_text, replace_atomically
from ...core.engines import run_tasks
from ...core.errors import MoodmapError
from .render import render
from .score import Hit, Note, Ratings, SongParams, compose, rate, song_params
from .soundfont import find_soundfont, fluidsynth_binary, render_soundfont

RENDERERS = ("numpy", "soundfont")
FORMATS = {"flac": ("FLAC", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III"), "ogg": ("OGG", "VORBIS"),
           "wav": ("WAV", "PCM_16")}
EVALUATION_EVERY = 6  # ~1 in 6 songs in the "evaluation" split, like emoMusic's 125 of 744


@dataclass(frozen=True)
class SynthSpec:
    """What to generate: how many songs, from which seed, how long, in what format."""

    songs: int
    seed: int = 0
    seconds: float = 45.0
    sample_rate: int = 22050
    audio_format: str = "flac"
    renderer: str = "numpy"  # or "soundfont" (FluidSynth + a General MIDI soundfont)
    soundfont: str | None = None  # None: $MOODMAP_SOUNDFONT or Debian's GM soundfont


def song_seed(seed: int, index: int) -> int:
    """Per-song seed, independent of how many songs are generated."""
    return seed * 1_000_003 + index


def plan(spec: SynthSpec) -> list[SongParams]:
    """The parameters of every song of a spec."""
    return [song_params(str(i), song_seed(spec.seed, i)) for i in range(1, spec.songs + 1)]


MP3_RATE = 44100


def render_song(params: SongParams, spec: SynthSpec, path: Path) -> Path:
    """Compose, render and atomically write one song; a no-op when it already exists."""
    if path.exists():
        return path
    notes, hits = compose(params, spec.seconds)
    return write_clip(render_score(params, notes, hits, spec.seconds, spec), spec, path)


def render_score(params: SongParams, notes: list[Note], hits: list[Hit], seconds: float, spec: SynthSpec,
                 programs: dict[str, int] | None = None) -> np.ndarray:
    """``seconds`` of mono audio at ``spec.sample_rate``: the score played by the spec's renderer
    (the soundfont renderer with ``programs``, GM programs per part, when given)."""
    if spec.renderer == "soundfont":
        return render_soundfont(params, notes, hits, seconds, spec.sample_rate, spec.soundfont, programs)
    return render(params, notes, hits, seconds, spec.sample_rate)


def write_clip(audio: np.ndarray, spec: SynthSpec, path: Path) -> Path:
    """Atomically write ``audio`` (at ``spec.sample_rate``) in the spec's format."""
    fmt, subtype = FORMATS[spec.audio_format]
    rate = spec.sample_rate
    if spec.audio_format == "mp3" and rate < MP3_RATE:
        # libsndfile's LAME at 22.05 kHz writes frames that make libmpg123 print "part2_3_length too
        # large" errors on every decode: mp3s are written at 44.1 kHz, as real ones are.
        import soxr

        audio, rate = soxr.resample(audio, rate, MP3_RATE).astype(np.float32), MP3_RATE
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format=fmt, subtype=subtype)
    replace_atomically(path, buffer.getvalue())
    return path


def write_synth_dataset(out: str | Path, spec: SynthSpec, jobs: int | None = None,
                        on_done: Callable[[int, int], None] | None = None) -> list[Path]:
    """Generate the data set under ``out``; returns the audio paths.

    ``on_done(done, total)`` is called as songs finish (for progress bars).
    """
    out = Path(out)
    if spec.renderer == "soundfont":  # fail before the first song, not in every worker
        fluidsynth_binary()
        spec = replace(spec, soundfont=str(find_soundfont(spec.soundfont)))
    _check_provenance(out, spec)
    audio_dir = out / "clips_45seconds"
    audio_dir.mkdir(parents=True, exist_ok=True)
    songs = plan(spec)
    _write_annotations(out, songs, spec)
    paths = [audio_dir / f"{p.song_id}.{spec.audio_format}" for p in songs]
    todo = [(p, spec, path) for p, path in zip(songs, paths) if not path.exists()]
    done = len(songs) - len(todo)
    if on_done:
        on_done(done, len(songs))
    for _ in run_tasks(_render_task, todo, jobs):
        done += 1
        if on_done:
            on_done(done, len(songs))
    return paths


def _check_provenance(out: Path, spec: SynthSpec) -> None:
    """Record how the set is made in synth.json; refuse to mix songs made another way into it
    (growing the set with more songs is fine)."""
    record = out / "synth.json"
    wanted = {k: v for k, v in asdict(spec).items() if k != "songs"}
    if record.exists():
        try:
            found = {k: v for k, v in json.loads(record.read_text(encoding="utf-8")).items() if k != "songs"}
        except (OSError, ValueError) as exc:
            raise MoodmapError(record, f"unreadable: {exc}") from exc
        if found != wanted:
            differ = ", ".join(f"{k} {found.get(k)!r} → {wanted[k]!r}" for k in wanted if found.get(k) != wanted[k])
            raise MoodmapError(out, f"holds songs generated differently ({differ}); use another folder")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, json.dumps(asdict(spec), indent=2) + "\n")


def truth_csv(songs: list[SongParams], ratings: list[Ratings]) -> str:
    """``synth_params.csv``: each song's parameters, its bpm and its noise-free truth (what tempo
    augmentation and provenance read back)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(list(asdict(songs[0]).keys()) + ["bpm", "valence_true", "arousal_true"] if songs else [])
    for p, r in zip(songs, ratings):
        writer.writerow(list(asdict(p).values()) + [f"{p.bpm:.2f}", f"{r.valence_true:.4f}", f"{r.arousal_true:.4f}"])
    return text.getvalue()


def write_rated_set(out: Path, entries: list[tuple[Path, SongParams, str]], record: dict) -> Path:
    """A manifest data set of rendered songs, each labelled by ``rate`` of its parameters: ``manifest.csv``
    (path, 1–9 ratings and their sds, song_id, group; for ``moodmap prepare --format manifest --scale
    1-9``), ``synth_params.csv`` (truth_csv) and ``synth.json`` (``record``). ``entries``: (audio path,
    parameters, group). Returns the manifest path."""
    manifest = io.StringIO()
    writer = csv.writer(manifest, lineterminator="\n")
    writer.writerow(["path", "valence", "arousal", "valence_sd", "arousal_sd", "song_id", "group"])
    ratings = [rate(params) for _, params, _ in entries]
    for (path, params, group), r in zip(entries, ratings):
        writer.writerow([str(path), f"{r.valence_mean:.2f}", f"{r.arousal_mean:.2f}", f"{r.valence_std:.4f}",
                         f"{r.arousal_std:.4f}", params.song_id, group])
    atomic_write_text(out / "manifest.csv", manifest.getvalue())
    atomic_write_text(out / "synth_params.csv", truth_csv([params for _, params, _ in entries], ratings))
    atomic_write_text(out / "synth.json", json.dumps(record, indent=2) + "\n")
    return out / "manifest.csv"


def _render_task(task: tuple[SongParams, SynthSpec, Path]) -> Path:
    return render_song(*task)


def _write_annotations(out: Path, songs: list[SongParams], spec: SynthSpec) -> None:
    """Annotation files in emoMusic's own format (leading spaces in headers included)."""
    ratings = [rate(p) for p in songs]
    static = io.StringIO()
    static.write("song_id, mean_arousal, std_arousal, mean_valence, std_valence\n")
    for p, r in zip(songs, ratings):
        static.write(f"{p.song_id},{r.arousal_mean:.2f},{r.arousal_std:.4f},{r.valence_mean:.2f},{r.valence_std:.4f}\n")
    info = io.StringIO()
    writer = csv.writer(info, lineterminator="\n")
    writer.writerow(["song_id", "file_name", "Artist", "Song title", "start of the segment (min.sec)",
                     "end of the segment (min.sec)", "Genre", "Mediaeval 2013 set"])
    for i, p in enumerate(songs, start=1):
        split = "evaluation" if i % EVALUATION_EVERY == 0 else "development"
        writer.writerow([p.song_id, f"{p.song_id}.{spec.audio_format}", f"\tSynth Ensemble {int(p.song_id) % 37:02d}",
                         f"\t{p.mode.title()} study in {p.bpm:.0f} bpm", "0.00", f"{spec.seconds / 60:.2f}",
                         "\tSynthetic", split])
    annotations = out / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    atomic_write_text(annotations / "static_annotations.csv", static.getvalue())
    atomic_write_text(annotations / "songs_info.csv", info.getvalue())
    atomic_write_text(out / "synth_params.csv", truth_csv(songs, ratings))
