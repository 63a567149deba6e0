"""Shared fixtures: tiny audio made on the fly, and a small synthetic data set."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from moodmap.datasets.synth import SynthSpec, write_synth_dataset

from helpers import tone, write_audio

# pytest-xdist's workers set COLUMNS=80; the installed program run by a test must see what a user's
# pipe gives it (no COLUMNS), or its tables are cut to 80 columns under xdist only.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


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
