"""Shared fixtures: tiny audio made on the fly, and a small synthetic data set."""
from __future__ import annotations

import os
import shutil
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
def built_once(tmp_path_factory, worker_id):
    """built_once(name, build) → the folder ``build(folder)`` filled, made once per test run.

    Under pytest-xdist each worker has its own session, so a plain session fixture is built
    once per worker; this one is built by the first worker that asks, under a lock, in the
    folder all workers of the run share, and the others wait for it and reuse it. ``build``
    returns a path inside the folder (what the fixture hands out)."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if worker_id != "master" else shared

    def once(name: str, build) -> Path:
        folder, done = shared / f"shared-{name}", shared / f"shared-{name}.done"
        with FileLock(str(shared / f"shared-{name}.lock")):
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                done.write_text(str(Path(build(folder)).relative_to(folder)), encoding="utf-8")
        return folder / done.read_text(encoding="utf-8")

    return once


@pytest.fixture(scope="session")
def synth_set(built_once) -> Path:
    """Twelve synthetic 45 s songs in the emoMusic layout (shared by every test and worker, read-only)."""
    def build(folder: Path) -> Path:
        write_synth_dataset(folder / "set", SynthSpec(songs=12, seed=3), jobs=1)
        return folder / "set"

    return built_once("synth", build)


@pytest.fixture(scope="session")
def synth_cache(synth_set, built_once) -> Path:
    """The twelve synthetic songs prepared into a feature cache (shared, read-only)."""
    from moodmap.cache import prepare_cache
    from moodmap.datasets import load_emomusic

    return built_once("cache", lambda folder: prepare_cache(load_emomusic(synth_set), folder, jobs=1).cache)


@pytest.fixture(scope="session")
def exported(synth_cache, built_once):
    """A tiny model trained on the synthetic cache, exported into a private weights folder: (path, folder)."""
    from moodmap.config import ModelConfig, TrainConfig
    from moodmap.models.card import export_run
    from moodmap.train import train_runs

    def build(root: Path) -> Path:
        train_runs(synth_cache, ModelConfig(filters=4), TrainConfig(epochs=1, batch_size=8), 2, root / "run")
        return export_run(root / "run", "tiny", root / "weights")

    path = built_once("model", build)
    return path, path.parent
