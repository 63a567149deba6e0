"""Shared fixtures: tiny audio made on the fly, and a small synthetic data set."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from moodmap.datasets.synth import SynthSpec, write_synth_dataset

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


@pytest.fixture
def make_audio(tmp_path):
    """make_audio(name, seconds, rate=…, channels=…) → path of a fresh tone file."""
    def make(name: str, seconds: float = 3.0, rate: int = 22050, channels: int = 1, **kw) -> Path:
        return write_audio(tmp_path / name, tone(seconds, rate, channels=channels, **kw), rate)
    return make


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory) -> Path:
    """Twelve synthetic 45 s songs in the emoMusic layout (shared, read-only)."""
    root = tmp_path_factory.mktemp("synth") / "set"
    write_synth_dataset(root, SynthSpec(songs=12, seed=3), jobs=1)
    return root


@pytest.fixture(scope="session")
def synth_cache(synth_set, tmp_path_factory) -> Path:
    """The twelve synthetic songs prepared into a feature cache (shared, read-only)."""
    from moodmap.cache import prepare_cache
    from moodmap.datasets import load_emomusic

    out = tmp_path_factory.mktemp("cache")
    return prepare_cache(load_emomusic(synth_set), out, jobs=1).cache


@pytest.fixture(scope="session")
def exported(synth_cache, tmp_path_factory):
    """A tiny model trained on the synthetic cache, exported into a private weights folder: (path, folder)."""
    from moodmap.config import ModelConfig, TrainConfig
    from moodmap.models.card import export_run
    from moodmap.train import train_runs

    root = tmp_path_factory.mktemp("model")
    train_runs(synth_cache, ModelConfig(filters=4), TrainConfig(epochs=1, batch_size=8), 2, root / "run")
    weights = root / "weights"
    return export_run(root / "run", "tiny", weights), weights
