"""The paper's sweep: every table cell × every run, in parallel, into an append-only SQLite store.

``run_sweep`` plans (experiment, setting, run) trainings, skips those already in
``DIR/results.sqlite``, runs the rest in worker processes pinned one per core, and
inserts each finished run in its own transaction as it arrives — so Ctrl-C or kill -9
loses only the runs in flight, and a rerun picks up the rest. Identical table cells
(the base model appears in six tables) share one setting key and one set of runs.

Examples
--------
>>> from moodmap.research.sweep import plan_sweep
>>> from moodmap.core.config import FeatureConfig
>>> len(plan_sweep(FeatureConfig(), runs=10, epochs=10, split="random"))  # 28 distinct settings × 10 runs
280
"""
from __future__ import annotations

import json
import platform
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.clock import timestamp
from ..core.config import FeatureConfig, ModelConfig, TrainConfig, config_dict, config_hash
from ..core.engines import LOCAL, Engine, default_jobs
from .cache import FeatureCache
from .experiments import PAPER_EXPERIMENTS, Experiment, all_settings, configs_for, select, setting_key
from .models.losses import LOSSES
from .models.networks import build_model
from .models.optimizers import make_optimizer
from .run_loop import run_missing
from .runtime import configure
from .train import RunTask, make_split, train_run

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    setting TEXT NOT NULL,
    run INTEGER NOT NULL,
    model_config TEXT NOT NULL,
    train_config TEXT NOT NULL,
    feature_hash TEXT NOT NULL,
    dataset TEXT NOT NULL,
    split TEXT NOT NULL,
    seed INTEGER NOT NULL,
    epochs INTEGER NOT NULL,
    last_val_mae REAL NOT NULL,
    best_val_mae REAL NOT NULL,
    result TEXT NOT NULL,
    predictions TEXT,
    seconds REAL NOT NULL,
    finished_at TEXT NOT NULL,
    host TEXT NOT NULL,
    UNIQUE (setting, run)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class SweepTask:
    """One training of the sweep: a distinct setting and a run index."""

    setting: str
    model: ModelConfig
    train: TrainConfig
    run: int


class ResultsStore:
    """Append-only SQLite store of finished runs (WAL; one transaction per run)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    def done(self) -> set[tuple[str, int]]:
        return {(r["setting"], r["run"]) for r in self.db.execute("SELECT setting, run FROM runs")}

    def add(self, task: SweepTask, result: dict, feature_hash: str, dataset: str) -> None:
        """Insert one finished run; a run already stored is left as it is."""
        predictions = result.pop("predictions", None)
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO runs (setting, run, model_config, train_config, feature_hash, dataset, split,"
                " seed, epochs, last_val_mae, best_val_mae, result, predictions, seconds, finished_at, host)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task.setting, task.run, json.dumps(config_dict(task.model)), json.dumps(config_dict(task.train)),
                 feature_hash, dataset, task.train.split, result["seed"], task.train.epochs, result["last_val_mae"],
                 result["best_val_mae"], json.dumps(result), json.dumps(predictions) if predictions else None,
                 result["seconds"], timestamp(), platform.node()))

    def set_meta(self, key: str, value) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self) -> dict:
        return {r["key"]: json.loads(r["value"]) for r in self.db.execute("SELECT key, value FROM meta")}

    def rows(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY setting, run")]


def plan_sweep(feature_config: FeatureConfig, runs: int, epochs: int, split: str,
               experiments: tuple[Experiment, ...] = PAPER_EXPERIMENTS) -> list[SweepTask]:
    """Every distinct (setting, run) the experiments ask for."""
    base = TrainConfig(epochs=epochs, split=split)
    feature_hash = config_hash(feature_config)
    seen: dict[str, tuple[ModelConfig, TrainConfig]] = {}
    for experiment, setting in all_settings():
        if experiment not in experiments:
            continue
        model, train = configs_for(experiment, setting, base)
        seen.setdefault(setting_key(model, train, feature_hash), (model, train))
    return [SweepTask(key, model, train, run) for key, (model, train) in seen.items() for run in range(runs)]


def sweep_run(task_and_context: tuple[SweepTask, str, str]) -> dict:
    """Worker: train one run of the sweep (no checkpoints; validation predictions kept)."""
    task, cache, out = task_and_context
    return train_run(RunTask(cache, task.model, task.train, task.run, out, threads=1, checkpoints=False,
                             predictions=True))


@dataclass
class SweepReport:
    planned: int
    already_done: int
    finished_now: int
    estimated_seconds: float
    actual_seconds: float
    interrupted: bool
    crashed: int = 0  # runs whose worker died every time they were tried; a rerun tries again


def run_sweep(cache_path: str | Path, out: str | Path, runs: int = 10, epochs: int = 10, split: str = "grouped",
              jobs: int | None = None, progress: Callable[[int, int], None] | None = None,
              estimate: bool = True, only: list[str] | None = None, engine: Engine = LOCAL) -> SweepReport:
    """Run what is missing of the sweep; returns planned/done counts and estimated vs actual time.

    Each (setting, run) is one task on ``engine`` (one CPU each); a run whose worker keeps
    dying is counted in ``crashed`` and left for the next rerun, not fatal.

    ``only`` limits the sweep to some experiments (keys of ``PAPER_EXPERIMENTS``).
    """
    began = time.monotonic()
    cache = FeatureCache.open(cache_path)
    out = Path(out)
    store = ResultsStore(out / "results.sqlite")
    jobs = jobs or default_jobs()
    try:
        chosen = select(only)
        tasks = plan_sweep(cache.config, runs, epochs, split, chosen)
        done = store.done()
        todo = [t for t in tasks if (t.setting, t.run) not in done]
        costs = estimate_costs(cache, todo) if estimate and todo else {}
        estimated = sum(costs.get(t.setting, 0.0) for t in todo) / max(1, min(jobs, len(todo) or 1))
        # run 0 of every setting first (a partial sweep still fills every table), longest first within a round
        todo.sort(key=lambda t: (t.run, -costs.get(t.setting, 0.0)))
        store.set_meta("sweep", {"cache": str(cache.path), "dataset": cache.dataset_label,
                                 "provenance": cache.provenance,
                                 "runs": runs, "epochs": epochs, "split": split, "jobs": jobs,
                                 "estimated_seconds": estimated})
        work = [(t, str(cache.path), str(out / "runs" / t.setting / f"run-{t.run}")) for t in todo]
        feature_hash, dataset = config_hash(cache.config), cache.dataset_label

        def keep(item: tuple, result: dict) -> None:
            store.add(item[0], result, feature_hash, dataset)

        loop = run_missing(sweep_run, work, len(tasks), keep, jobs, progress, engine)
        actual = time.monotonic() - began
        store.set_meta("last_session", {"finished": loop.finished, "seconds": actual, "estimated_seconds": estimated,
                                        "interrupted": loop.interrupted})
        return SweepReport(len(tasks), len(tasks) - len(todo), loop.finished, estimated, actual, loop.interrupted,
                           len(loop.crashed))
    finally:
        store.close()


def estimate_costs(cache: FeatureCache, tasks: list[SweepTask]) -> dict[str, float]:
    """Seconds one run of each distinct setting should take on one core (a few timed steps, scaled up)."""
    configure(1)
    per_setting: dict[str, float] = {}
    for task in tasks:
        if task.setting not in per_setting:
            split = make_split(cache, task.train, 0)
            per_setting[task.setting] = _seconds_per_run(cache, task, len(split.train), len(split.validation))
    return per_setting


def _seconds_per_run(cache: FeatureCache, task: SweepTask, n_train: int, n_val: int, steps: int = 3) -> float:
    torch.manual_seed(0)
    model = build_model(task.model, cache.features.shape[1:])
    optimizer = make_optimizer(task.train.optimizer, model.parameters(), task.train.learning_rate)
    batch = torch.from_numpy(np.array(cache.features[: task.train.batch_size]))
    target = torch.from_numpy(cache.targets[: task.train.batch_size])
    loss_fn = LOSSES[task.train.loss]
    timings = []
    for _ in range(steps + 1):
        began = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(batch), target).backward()
        optimizer.step()
        timings.append(time.perf_counter() - began)
    step = float(np.median(timings[1:]))
    batches = -(-n_train // task.train.batch_size)
    return task.train.epochs * (batches * step + n_val / task.train.batch_size * step / 3)
