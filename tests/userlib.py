"""A small music library as a user has one: real music in the six formats people keep,
in Artist/Album/NN Title.ext folders, with real tags (made per test session, never committed).

The music is the project's synthetic generator's (chords, bass, melody, drums), encoded
with soundfile (wav, flac, ogg/vorbis, mp3) and PyAV (opus, m4a/AAC).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

FORMATS = ("mp3", "flac", "ogg", "opus", "m4a", "wav")
SOUNDFILE = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
             "mp3": ("MP3", "MPEG_LAYER_III")}
PYAV = {"opus": ("ogg", "libopus", 48000), "m4a": ("mp4", "aac", 44100)}
RATE = 44100  # as real libraries are (libsndfile's LAME at 22.05 kHz writes frames mpg123 complains about)


def encode(path: Path, mono: np.ndarray, rate: int) -> Path:
    """Write mono float audio as ``path``'s format (its suffix), the way a real encoder would."""
    kind = path.suffix[1:].lower()
    if kind in SOUNDFILE:
        fmt, subtype = SOUNDFILE[kind]
        sf.write(path, mono, rate, format=fmt, subtype=subtype)
        return path
    import av
    import soxr

    container_format, codec, codec_rate = PYAV[kind]
    audio = soxr.resample(mono, rate, codec_rate).astype(np.float32)
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=codec_rate)
        stream.layout = "mono"
        frame_size = 960 if codec == "libopus" else 1024
        for start in range(0, len(audio), frame_size):
            chunk = audio[start:start + frame_size]
            chunk = np.pad(chunk, (0, frame_size - len(chunk)))
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate, frame.pts = codec_rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def tag(path: Path, title: str, artist: str, album: str) -> None:
    """Title, artist and album as a tagger writes them (not for WAV, which most taggers leave bare)."""
    import mutagen

    if path.suffix == ".wav":
        return
    handle = mutagen.File(str(path), easy=True)
    if handle.tags is None:
        handle.add_tags()
    handle["title"], handle["artist"], handle["album"] = title, artist, album
    handle.save()


# What make_user_library made in this process: its arguments → each song's path under the folder and
# its bytes. The same library asked for again is written from here (new files, the same music): ~25
# tests ask for a few libraries, and making one (synthesis, then six encoders) took 1–11 s each time.
_MADE: dict[tuple, list[tuple[Path, bytes]]] = {}


def make_user_library(folder: Path, seconds: float = 20.0, seed: int = 5,
                      names: list[tuple[str, str, str]] | None = None) -> list[Path]:
    """Songs under ``folder`` as ``Artist/Album/NN Title.ext``, formats in FORMATS order, one
    song per (artist, album, title) of ``names`` (default: six songs "Song 1"… by "Artist A"
    and "Artist B"); returns their paths in that order."""
    names = names or [(f"Artist {'AB'[i % 2]}", "Album", f"Song {i}") for i in range(1, len(FORMATS) + 1)]
    key = (float(seconds), seed, tuple(map(tuple, names)))
    if key not in _MADE:
        _MADE[key] = [(path.relative_to(folder), path.read_bytes())
                      for path in _render_library(folder, seconds, seed, names)]
        return [folder / relative for relative, _ in _MADE[key]]
    paths = []
    for relative, data in _MADE[key]:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
        paths.append(folder / relative)
    return paths


def _render_library(folder: Path, seconds: float, seed: int, names: list[tuple[str, str, str]]) -> list[Path]:
    from moodmap.research.datasets.synth import SynthSpec, write_synth_dataset

    rendered = folder.parent / f".{folder.name}-render"
    sources = write_synth_dataset(rendered, SynthSpec(songs=len(names), seed=seed, seconds=seconds,
                                                      audio_format="wav"), jobs=1)
    paths = []
    for i, (source, (artist, album, title)) in enumerate(zip(sorted(sources, key=lambda p: int(p.stem)), names)):
        import soxr

        mono, rate = sf.read(source, dtype="float32")
        mono, rate = soxr.resample(mono, rate, RATE).astype(np.float32), RATE
        path = folder / artist / album / f"{i + 1:02d} {title}.{FORMATS[i % len(FORMATS)]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        encode(path, mono, rate)
        tag(path, title, artist, album)
        paths.append(path)
    shutil.rmtree(rendered)
    return paths
