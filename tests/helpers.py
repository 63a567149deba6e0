"""Helpers the tests share (plain functions; the fixtures are in conftest.py): audio made on the
fly, a library index with known positions, a free port."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SUBTYPES = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
            "mp3": ("MP3", "MPEG_LAYER_III")}


def tone(seconds: float, rate: int = 22050, freqs=(220.0, 277.2, 329.6), channels: int = 1,
         amplitude: float = 0.5) -> np.ndarray:
    """A chord of sines with a slow tremolo: simple, but not constant, audio."""
    t = np.arange(int(seconds * rate)) / rate
    mono = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    mono *= amplitude * (0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t))
    if channels == 1:
        return mono.astype(np.float32)
    return np.stack([mono * (1.0 - 0.1 * c) for c in range(channels)], axis=1).astype(np.float32)


def write_audio(path: Path, data: np.ndarray, rate: int = 22050) -> Path:
    fmt, subtype = SUBTYPES[path.suffix[1:]]
    sf.write(path, data, rate, format=fmt, subtype=subtype)
    return path


def write_library_db(folder: Path, songs: int = 300, seed: int = 0, spread: bool = True) -> Path:
    """A library index with known positions: ``songs`` rows spread over the plane, ten artists,
    unicode file names (empty files on disk, so playlist paths can be checked). Returns the DB path."""
    from moodmap.library.index import Library
    from moodmap.core.mood import describe

    rng = np.random.default_rng(seed)
    music = folder / "Müsic"
    music.mkdir(parents=True, exist_ok=True)
    library = Library(folder / "library.sqlite")
    for i in range(songs):
        v, a = (float(x) for x in rng.uniform(0.05, 0.95, 2))
        path = music / f"album {i % 7}" / f"{i:04d} – chanson ñ {i}.flac"
        path.parent.mkdir(exist_ok=True)
        path.touch()
        mood = describe(v, a)
        library.save({"path": str(path), "fingerprint": f"f{i}", "size": 0, "mtime_ns": 0,
                      "title": f"Chanson {i}", "artist": f"Artist {i % 10}", "album": f"Album {i % 7}",
                      "genre": None, "duration": 180.0 + i,
                      "valence": v, "arousal": a,
                      "valence_spread": float(rng.uniform(0, 0.05)) if spread else None,
                      "arousal_spread": float(rng.uniform(0, 0.05)) if spread else None,
                      "quadrant": mood.quadrant, "emotion": mood.emotion, "model": "test", "model_sha": "x",
                      "timeline": None, "analysed_at": "2026-11-25T00:00:00"})
    library.close()
    return folder / "library.sqlite"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server under test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_slowly(data: bytes, target: Path, pieces: int = 10, pause: float = 0.3) -> None:
    """Write ``data`` to ``target`` in ``pieces``, ``pause`` s apart: a song arriving over a slow
    share (3 s for the whole file by default, a NAS over Wi-Fi)."""
    with open(target, "wb") as handle:
        for piece in np.array_split(np.frombuffer(data, np.uint8), pieces):
            handle.write(piece.tobytes())
            handle.flush()
            time.sleep(pause)


def id3(path: Path, version: int, *frames) -> Path:
    """The file with an ID3 tag of ``version`` (3 or 4) holding ``frames``, written by mutagen as a
    tagger would (for the tag tests' files)."""
    import mutagen

    handle = mutagen.File(str(path))
    if handle.tags is None:
        handle.add_tags()
    for frame in frames:
        handle.tags.add(frame)
    handle.save(v2_version=version)
    return path


# Every Ray test starts raylets, and test_ray_cluster's fixture counts the raylets that appear while it
# starts its two nodes, so no Ray test may run beside another on the other xdist worker: they share the
# group test_readme.py gives docs/research/ray.md's console walk (its first walk, #0, starts a local Ray).
RAY_GROUP = pytest.mark.xdist_group("docs/research/ray.md#0")
