"""The Ray engine: the same results as the local engine, faults survived, runs resumable across engines."""
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import RAY_GROUP

from moodmap.core.engines import Engine, run_tasks
from moodmap.core.errors import ConfigError, MoodmapError

ray = pytest.importorskip("ray", reason="the Ray engine needs moodmap[ray]")
RAY = Engine("ray")
# The Ray engine is an extra for more machines; starting a private Ray costs half a minute of the two
# cores: `make test-slow` runs these, beside tests/test_ray_cluster.py (CI's pass leaves out the `ray` mark).
pytestmark = [pytest.mark.slow, pytest.mark.ray, RAY_GROUP]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray for this module (2 CPUs); run_tasks joins it instead of starting its own."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR",
             object_store_memory=200 * 1024 * 1024)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    yield
    ray.shutdown()


def double(x: int) -> int:
    return 2 * x


def die_on_three(x: int) -> int:
    if x == 3:
        os._exit(1)  # the worker process dies, as under kill -9 or the OOM killer
    return 2 * x


def refuse_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def test_results_match_the_local_engine():
    tasks = list(range(25))
    assert dict(run_tasks(double, tasks, engine=RAY, batch=4)) == dict(run_tasks(double, tasks, jobs=2))


def test_a_task_that_kills_its_worker_every_time_is_reported_and_its_batch_mates_survive():
    crashes = []
    results = dict(run_tasks(die_on_three, range(6), engine=RAY, batch=2,
                             on_crash=lambda task, reason: crashes.append((task, reason)) or None))
    assert results == {0: 0, 1: 2, 2: 4, 3: None, 4: 8, 5: 10}
    assert [task for task, _ in crashes] == [3] and "died" in crashes[0][1]


def test_a_crash_without_a_handler_is_a_clear_error():
    with pytest.raises(MoodmapError, match="worker died"):
        list(run_tasks(die_on_three, [3], engine=RAY))


def test_an_exception_in_the_task_reaches_the_caller_as_itself():
    with pytest.raises(ValueError, match="three is not allowed"):
        list(run_tasks(refuse_three, range(5), engine=RAY, batch=2))


def test_unknown_engine_and_address_without_ray_are_refused():
    with pytest.raises(ConfigError, match="unknown engine"):
        Engine("spark")
    with pytest.raises(ConfigError, match="^address is for engine ray$") as refused:  # the API's terms …
        Engine("local", "auto")
    assert refused.value.for_command_line() == "--address is for --engine ray"  # … and the command's


def _cache_arrays(folder: Path) -> tuple[np.ndarray, list[str]]:
    from moodmap.research.cache import FeatureCache

    cache = FeatureCache.open(folder)
    return np.array(cache.features), sorted(zip(cache.song_ids, cache.excerpt.tolist(), cache.start.tolist()))


def test_prepare_with_ray_gives_the_local_features(synth_set, tmp_path):
    from moodmap.research.cache import prepare_cache
    from moodmap.research.datasets import load_emomusic

    local = prepare_cache(load_emomusic(synth_set), tmp_path / "local", jobs=2)
    summary = prepare_cache(load_emomusic(synth_set), tmp_path / "ray", jobs=2, engine=RAY)
    assert summary.extracted == 12 and not summary.failures
    ray_features, ray_rows = _cache_arrays(summary.cache)
    local_features, local_rows = _cache_arrays(local.cache)
    assert ray_rows == local_rows
    np.testing.assert_array_equal(ray_features, local_features)


def _rows(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT path, valence, arousal, valence_spread, arousal_spread, quadrant, emotion, "
                                  "fingerprint, size, model FROM songs").fetchall()
    return {Path(r[0]).name: r[1:] for r in rows}


def _same_rows(a: dict[str, tuple], b: dict[str, tuple]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name][:4], b[name][:4], rtol=0, atol=1e-6, err_msg=name)
        assert a[name][4:] == b[name][4:], name


@pytest.fixture(scope="module")
def local_scan(synth_set, tmp_path_factory) -> Path:
    from moodmap.library.scan import scan_library

    db = tmp_path_factory.mktemp("local") / "library.sqlite"
    scan_library(synth_set / "clips_45seconds", db, jobs=2)
    return db


def test_scan_with_ray_gives_the_local_rows(synth_set, local_scan, tmp_path):
    from moodmap.library.scan import scan_library

    summary = scan_library(synth_set / "clips_45seconds", tmp_path / "ray.sqlite", engine=RAY)
    assert summary.analysed == 12 and not summary.failures
    _same_rows(_rows(tmp_path / "ray.sqlite"), _rows(local_scan))


def test_a_scan_started_locally_is_finished_by_ray(synth_set, local_scan, tmp_path):
    import shutil

    from moodmap.library.scan import scan_library

    db = tmp_path / "library.sqlite"
    shutil.copy(local_scan, db)
    with sqlite3.connect(db) as connection:  # as if the local scan had been stopped after 7 songs
        connection.execute("DELETE FROM songs WHERE rowid IN (SELECT rowid FROM songs ORDER BY path LIMIT 5)")
    summary = scan_library(synth_set / "clips_45seconds", db, engine=RAY)
    assert (summary.analysed, summary.unchanged) == (5, 7)
    _same_rows(_rows(db), _rows(local_scan))


class WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the first Ray worker seen running a moodmap batch."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.killed: int | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.killed is None:
            for entry in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    title = entry.read_bytes().split(b"\0")[0]
                except OSError:
                    continue
                if title.startswith(b"ray::_run_batch"):
                    os.kill(int(entry.parent.name), signal.SIGKILL)
                    self.killed = int(entry.parent.name)
                    return
            time.sleep(0.005)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray's workers through /proc")
def test_a_worker_killed_mid_scan_loses_no_file_and_doubles_none(synth_set, local_scan, tmp_path):
    from moodmap.library.scan import scan_library

    killer = WorkerKiller()
    killer.start()
    try:
        summary = scan_library(synth_set / "clips_45seconds", tmp_path / "library.sqlite", engine=RAY)
    finally:
        killer.stop.set()
        killer.join()
    assert killer.killed is not None, "no Ray worker was seen running a batch"
    assert summary.analysed == 12 and not summary.failures
    with sqlite3.connect(tmp_path / "library.sqlite") as connection:
        paths = [row[0] for row in connection.execute("SELECT path FROM songs")]
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert len(paths) == len(set(paths)) == 12
    _same_rows(_rows(tmp_path / "library.sqlite"), _rows(local_scan))


def test_a_sweep_started_locally_is_finished_by_ray_with_the_same_numbers(synth_cache, tmp_path):
    from moodmap.research.sweep import ResultsStore, run_sweep

    run_sweep(synth_cache, tmp_path / "local", runs=2, epochs=1, jobs=1, only=["dropout"], estimate=False)
    run_sweep(synth_cache, tmp_path / "mixed", runs=1, epochs=1, jobs=1, only=["dropout"], estimate=False)
    report = run_sweep(synth_cache, tmp_path / "mixed", runs=2, epochs=1, only=["dropout"], estimate=False, engine=RAY)
    assert (report.already_done, report.finished_now, report.crashed) == (4, 4, 0)

    def scores(folder: Path) -> dict:
        store = ResultsStore(folder / "results.sqlite")
        try:
            return {(r["setting"], r["run"]): r["last_val_mae"] for r in store.rows()}
        finally:
            store.close()

    local, mixed = scores(tmp_path / "local"), scores(tmp_path / "mixed")
    assert local.keys() == mixed.keys() and len(local) == 8
    for key in local:
        assert mixed[key] == pytest.approx(local[key], abs=1e-6), key


def test_training_runs_and_compare_run_on_ray_with_the_local_numbers(synth_cache, tmp_path):
    from moodmap.core.config import ModelConfig, TrainConfig
    from moodmap.research.compare import Protocol, compare_models
    from moodmap.research.train import train_runs

    model, train = ModelConfig(filters=4), TrainConfig(epochs=1, batch_size=8)
    local = train_runs(synth_cache, model, train, 2, tmp_path / "local", jobs=2)
    on_ray = train_runs(synth_cache, model, train, 2, tmp_path / "ray", engine=RAY)
    assert [r["last_val_mae"] for r in on_ray["runs"]] == [r["last_val_mae"] for r in local["runs"]]
    report = compare_models(synth_cache, ["paper"], tmp_path / "compare", Protocol(runs=2, epochs=1), engine=RAY)
    assert len(report["predictors"]["paper"]["song"]["valence"]["mae"]["runs"]) == 2
