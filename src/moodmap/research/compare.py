"""Models side by side on identical splits: every metric, mean ± sd, and whether a gap is real.

Each named model (a preset) is trained ``runs`` times — or once per fold of a grouped
k-fold cross-validation — on the same validation songs as every other model: the
split depends only on the protocol (seed, validation fraction, folds), never on the
model, and each run's split fingerprint is checked to be equal across models. The
constant-mean baseline is scored on the same songs. A paired Wilcoxon signed-rank test
over the runs says whether a difference is more than run-to-run noise; with n runs the
smallest two-sided p it can give is 2/2ⁿ (0.0625 for 5), which the report states.

Examples
--------
>>> from moodmap.research.compare import Protocol
>>> Protocol(folds=5).n
5
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_write_text
from ..core.config import TrainConfig, config_dict, config_hash
from ..core.engines import LOCAL, Engine
from ..core.errors import ConfigError, MoodmapError
from .cache import FeatureCache
from .metrics import DIMENSIONS, run_stats
from .presets import preset
from .run_loop import run_missing, stop_if_interrupted, threads_per_task
from .train import RunTask, train_run

METRICS = ("mae", "rmse", "r", "r2", "ccc", "sd_ratio")
TESTED = ("mae", "ccc")
LEVELS = ("song", "excerpt")
ALPHA = 0.05


@dataclass(frozen=True)
class Protocol:
    """What every compared model shares: the grouped split, its seed, and how many runs or folds."""

    runs: int = 5
    folds: int | None = None
    seed: int = 0
    validation_fraction: float = 0.1
    epochs: int | None = None  # None: each preset's own

    def __post_init__(self) -> None:
        if self.folds is None and self.runs < 2:
            raise ConfigError(None, "compare needs at least 2 runs (or --folds) for a paired test")

    @property
    def n(self) -> int:
        return self.folds or self.runs

    def apply(self, train: TrainConfig) -> TrainConfig:
        """``train`` with the shared protocol imposed (all excerpts of every song, grouped split)."""
        return dataclasses.replace(train, split="grouped", seed=self.seed, folds=self.folds, excerpts=None,
                                   validation_fraction=self.validation_fraction,
                                   epochs=self.epochs or train.epochs)


def compare_models(cache_path: str | Path, names: list[str], out: str | Path, protocol: Protocol = Protocol(),
                   jobs: int = 1, progress: Callable[[int, int], None] | None = None,
                   engine: Engine = LOCAL) -> dict:
    """Train every named model on the protocol's splits (in ``jobs`` processes, or on Ray; resuming
    finished runs: Ctrl-C raises ``Interrupted``), then score them all."""
    if len(set(names)) != len(names) or not names:
        raise ConfigError(None, "--models needs one or more different model names")
    cache = FeatureCache.open(cache_path)
    out = Path(out)
    folders = {name: _folder(out, name, protocol) for name in names}
    tasks = [RunTask(str(cache.path), preset(name).model, protocol.apply(preset(name).train), run,
                     str(folders[name] / f"run-{run}"), threads_per_task(jobs, engine))
             for name in names for run in range(protocol.n)]
    todo = [t for t in tasks if not (Path(t.out) / "result.json").exists()]
    loop = run_missing(train_run, todo, len(tasks), lambda task, result: None, jobs, progress, engine)  # runs save
    stop_if_interrupted(loop)
    if loop.crashed:
        raise MoodmapError(None, f"{len(loop.crashed)} of {len(tasks)} trainings lost their worker every time they "
                                 "were tried, and the paired tests need every run; the others are saved — rerun the "
                                 "same command to try them again")
    results = {name: [json.loads((folders[name] / f"run-{r}" / "result.json").read_text())
                      for r in range(protocol.n)] for name in names}
    report = build_report(results, cache, protocol, names)
    atomic_write_text(out / "compare.json", json.dumps(report, indent=2))
    return report


def _folder(out: Path, name: str, protocol: Protocol) -> Path:
    """One folder per model *and* configuration, so a changed preset never reuses stale runs."""
    chosen = preset(name)
    return out / f"{name}-{config_hash(chosen.model)}-{config_hash(protocol.apply(chosen.train))}"


def check_identical_splits(results: dict[str, list[dict]]) -> list[str]:
    """Each run's split fingerprint, the same for every model; an error naming the first mismatch."""
    digests = {name: [r["split_digest"] for r in runs] for name, runs in results.items()}
    reference_name, reference = next(iter(digests.items()))
    for name, theirs in digests.items():
        if theirs != reference:
            raise ConfigError(None, f"{name} was validated on other songs than {reference_name}; "
                                    "compare needs identical splits")
    return reference


def predictor_runs(results: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Per predictor, its per-run evaluation ({level: scores}): each model, its uncalibrated self
    when it was calibrated, and the constant-mean baseline (the same for all, from the same songs)."""
    runs: dict[str, list[dict]] = {}
    for name, model_runs in results.items():
        runs[name] = [{level: r["evaluation"][level]["model"] for level in LEVELS} for r in model_runs]
        if all("evaluation_uncalibrated" in r for r in model_runs):
            runs[f"{name} (uncalibrated)"] = [{level: r["evaluation_uncalibrated"][level]["model"]
                                               for level in LEVELS} for r in model_runs]
    first = next(iter(results.values()))
    runs["baseline"] = [{level: r["evaluation"][level]["baseline"] for level in LEVELS} for r in first]
    return runs


def _value(scores: dict, dimension: str | None, metric: str) -> float:
    if dimension is None:
        return float(scores[metric])
    dim = scores[dimension]
    if metric == "sd_ratio":
        return float(dim["pred_sd"] / dim["target_sd"]) if dim["target_sd"] > 0 else float("nan")
    return float(dim[metric])


def summarise_predictor(runs: list[dict]) -> dict:
    """Mean, sd and per-run values of every metric, per level and dimension."""
    summary = {}
    for level in LEVELS:
        scores = [r[level] for r in runs]
        summary[level] = {dim: {m: run_stats([_value(s, dim, m) for s in scores]) for m in METRICS}
                          for dim in DIMENSIONS}
        summary[level]["quadrant_accuracy"] = run_stats([_value(s, None, "quadrant_accuracy") for s in scores])
        summary[level]["mean_mae"] = run_stats([_value(s, None, "mean_mae") for s in scores])
    return summary


def paired_test(a: list[float], b: list[float], alpha: float = ALPHA) -> dict:
    """Two-sided Wilcoxon signed-rank test of paired per-run values (exact for small n)."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(len(a))
    smallest = 2.0 / 2 ** n if n else 1.0
    if n == 0 or np.allclose(a, b, rtol=0, atol=1e-12):
        p = 1.0
    else:
        p = float(wilcoxon(a, b).pvalue)
    return {"n": n, "difference": float(np.mean(a - b)) if n else float("nan"), "p_value": p,
            "smallest_possible_p": smallest, "significant": bool(p < alpha)}


def _pairs(names: list[str], predictors: list[str]) -> list[tuple[str, str]]:
    """Every other predictor against the first model, and every model against the baseline."""
    reference = names[0]
    return ([(p, reference) for p in predictors if p not in (reference, "baseline")]
            + [(p, "baseline") for p in predictors if p != "baseline"])


def build_report(results: dict[str, list[dict]], cache: FeatureCache, protocol: Protocol, names: list[str]) -> dict:
    """Everything ``compare`` knows, JSON-ready: protocol, splits, per-predictor metrics, paired tests."""
    digests = check_identical_splits(results)
    runs = predictor_runs(results)
    tests = []
    for level in LEVELS:
        for a, b in _pairs(names, list(runs)):
            for dim in DIMENSIONS:
                for metric in TESTED:
                    values = [[_value(r[level], dim, metric) for r in runs[p]] for p in (a, b)]
                    tests.append({"model": a, "against": b, "level": level, "dimension": dim, "metric": metric,
                                  **paired_test(*values)})
    first = next(iter(results.values()))
    return {
        "protocol": {"dataset": cache.dataset_label, "provenance": cache.provenance, "split": "grouped",
                     "mode": "folds" if protocol.folds else "runs", "n": protocol.n,
                     "validation_fraction": None if protocol.folds else protocol.validation_fraction,
                     "seed": protocol.seed, "alpha": ALPHA, "test": "Wilcoxon signed-rank, two-sided, paired by run",
                     "song_level": "a song's excerpt predictions averaged",
                     "baseline": "the training songs' mean, predicted for every item"},
        "splits": [{"run": r["run"], "digest": d, "validation_songs": r["validation_songs"]}
                   for r, d in zip(first, digests)],
        "models": {name: {"model_config": config_dict(preset(name).model),
                          "train_config": config_dict(protocol.apply(preset(name).train)),
                          "description": preset(name).description} for name in names},
        "predictors": {name: summarise_predictor(r) for name, r in runs.items()},
        "tests": tests,
    }
