"""Training and its honest evaluation: the paper's protocol (§2.5), and what it leaves out.

Per run: a fresh initialisation, a fresh 10 % validation split, ``epochs`` of
mini-batch training, then metrics for the model and for the constant-mean baseline
on the same validation items, at excerpt level and at song level (a song's excerpt
predictions averaged). Runs are independent tasks, so they go in parallel and a
rerun skips the finished ones.

Split modes: ``grouped`` (default) keeps every excerpt of a song (of a group) on one
side; ``random`` draws excerpts at random, so excerpts of one song can sit on both
sides and leak — our reading of the paper's split (it says only that its validation
songs "were randomly selected"); ``official`` uses the data set's own train/test split.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core import provenance
from ..core.atomic import atomic_write_text
from ..core.config import ModelConfig, TrainConfig, config_dict, config_hash
from ..core.engines import LOCAL, Engine
from ..core.errors import CacheError, ConfigError
from .augment import augmenter
from .cache import FeatureCache
from .calibration import fit_spread
from .metrics import evaluate_levels, over_runs
from .models.checkpoint import Checkpoint, save_checkpoint
from .models.losses import LOSSES
from .models.networks import build_model
from .models.optimizers import make_optimizer
from .models.torch_predict import predict_features
from .run_loop import run_missing, stop_if_interrupted, threads_per_task
from .runtime import configure
from .tempo_augment import song_bpm, tempo_augmenter


@dataclass(frozen=True)
class Split:
    """Row indices of one run's training and validation sets."""

    train: np.ndarray
    validation: np.ndarray

    def digest(self) -> str:
        """A short fingerprint of the validation rows: equal digests, identical splits."""
        return hashlib.sha256(np.asarray(self.validation, np.int64).tobytes()).hexdigest()[:12]


def usable_rows(cache: FeatureCache, excerpts: int | None) -> np.ndarray:
    """Rows of the first ``excerpts`` excerpts of each song (all when None)."""
    rows = np.arange(len(cache))
    return rows if excerpts is None else rows[cache.excerpt < excerpts]


def make_split(cache: FeatureCache, config: TrainConfig, run: int) -> Split:
    """The validation split of run ``run``: a fresh draw per run, the same draw per (seed, run);
    with ``folds``, part ``run`` of one fixed dealing of the songs."""
    rows = usable_rows(cache, config.excerpts)
    rng = np.random.default_rng([config.seed, run, 17])
    if config.split == "official":
        test = cache.split[rows] == "test"
        if not test.any() or test.all():
            raise CacheError(cache.path, "the data set has no official train/test split; use --split grouped")
        return Split(rows[~test], rows[test])
    if config.split == "random":
        shuffled = rng.permutation(rows)
        n_val = max(1, int(round(config.validation_fraction * len(rows))))
        return Split(np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val]))
    groups = np.unique(cache.group[rows])
    if config.folds:
        dealt = np.random.default_rng([config.seed, 17]).permutation(groups)
        held_out = set(np.array_split(dealt, config.folds)[run % config.folds])
    else:
        n_val = max(1, int(round(config.validation_fraction * len(groups))))
        held_out = set(rng.permutation(groups)[:n_val])
    is_val = np.array([g in held_out for g in cache.group[rows]])
    return Split(rows[~is_val], rows[is_val])


def run_seed(config: TrainConfig, run: int) -> int:
    """The torch seed of one run."""
    return int(np.random.default_rng([config.seed, run]).integers(2**31 - 1))


@dataclass(frozen=True)
class RunTask:
    """One training run; ``checkpoints=False`` skips the .pt files (a sweep keeps only numbers),
    ``predictions=True`` returns the last epoch's validation predictions with the result."""

    cache: str
    model: ModelConfig
    train: TrainConfig
    run: int
    out: str
    threads: int
    checkpoints: bool = True
    predictions: bool = False


def train_run(task: RunTask) -> dict:
    """Train and evaluate one run; writes metrics.csv, best.pt, last.pt and result.json in its folder."""
    configure(task.threads)
    if task.train.crop_frames and task.model.architecture == "paper_cnn":
        raise ConfigError(None, "crop_frames needs a model that takes any excerpt length (moodnet), not paper_cnn")
    if task.train.tempo_stretch and not task.train.crop_frames:
        raise ConfigError(None, "tempo_stretch needs crop_frames (the stretched window is read from a longer excerpt)")
    cache = FeatureCache.open(task.cache)
    out = Path(task.out)
    out.mkdir(parents=True, exist_ok=True)
    split = make_split(cache, task.train, task.run)
    seed = run_seed(task.train, task.run)
    torch.manual_seed(seed)
    began = time.monotonic()
    model = build_model(task.model, cache.features.shape[1:])
    transform = target_transform(cache.targets[split.train], task.train.standardize_targets)
    history, pred, tempo_rows = _fit(task, model, cache, split, seed, out, began, transform)
    y_val = cache.targets[split.validation]
    best = min(history, key=lambda h: h["val_mae"])
    score = lambda p: evaluate_levels(p, y_val, cache.song_ids[split.validation],  # noqa: E731
                                      cache.targets[split.train].mean(axis=0))
    uncalibrated = None
    if task.train.calibrate_spread:
        uncalibrated = {level: ev.as_dict() for level, ev in score(pred).items()}
        pred = _calibrate(task, model, cache, split, out, pred, transform)
    levels = score(pred)
    result = {
        "run": task.run, "seed": seed, "split": task.train.split, "train_rows": int(len(split.train)),
        "validation_rows": int(len(split.validation)),
        "validation_songs": int(len(np.unique(cache.song_ids[split.validation]))),
        "split_digest": split.digest(),
        "last_val_mae": history[-1]["val_mae"], "best_val_mae": best["val_mae"], "best_epoch": best["epoch"],
        "seconds": round(time.monotonic() - began, 2),
        **({"tempo_stretch_rows": tempo_rows} if task.train.tempo_stretch else {}),
        "evaluation": {level: ev.as_dict() for level, ev in levels.items()},
    }
    if uncalibrated is not None:
        result["evaluation_uncalibrated"] = uncalibrated
    atomic_write_text(out / "metrics.csv", _csv(history))
    atomic_write_text(out / "result.json", json.dumps(result, indent=2))
    if task.predictions:
        result["predictions"] = {"song_id": cache.song_ids[split.validation].tolist(),
                                 "pred": np.round(pred, 5).tolist(), "true": np.round(y_val, 5).tolist()}
    return result


def _fit(task: RunTask, model, cache: FeatureCache, split: Split, seed: int, out: Path, began: float,
         transform: tuple[np.ndarray, np.ndarray]) -> tuple[list[dict], np.ndarray, int]:
    """The epochs of one run: train, score on validation, checkpoint; returns history, last predictions
    and how many training rows the tempo augmentation could stretch (their song's bpm known)."""
    x_train = torch.from_numpy(np.ascontiguousarray(cache.features[split.train]))
    offset, scale = transform
    y_train = torch.from_numpy(((cache.targets[split.train] - offset) / scale).astype(np.float32))
    x_val, y_val = cache.features[split.validation], cache.targets[split.validation]
    optimizer = make_optimizer(task.train.optimizer, model.parameters(), task.train.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    augment = augmenter(task.train.crop_frames, task.train.spec_augment)
    tempo, tempo_rows = None, 0
    if task.train.tempo_stretch:
        bpm = song_bpm(cache)[split.train]
        tempo_rows = int(np.isfinite(bpm).sum())
        tempo = tempo_augmenter(bpm, task.train.tempo_stretch, task.train.crop_frames, x_train.shape[-1],
                                float(scale[1]))
    schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, task.train.epochs)
                if task.train.lr_schedule == "cosine" else None)
    history: list[dict] = []
    for epoch in range(1, task.train.epochs + 1):
        learning_rate = optimizer.param_groups[0]["lr"]
        loss = _epoch(model, optimizer, LOSSES[task.train.loss], x_train, y_train, task.train.batch_size, generator,
                      augment, tempo)
        if schedule is not None:
            schedule.step()
        if task.train.recalibrate_batchnorm:
            recalibrate_batchnorm(model, x_train)
        pred = predict_features(model, x_val, offset=offset, scale=scale)
        errors = np.abs(pred - y_val).mean(axis=0)
        improved = not history or errors.mean() < min(h["val_mae"] for h in history)
        history.append({"epoch": epoch, "train_loss": loss, "val_mae": float(errors.mean()),
                        "val_mae_valence": float(errors[0]), "val_mae_arousal": float(errors[1]),
                        "learning_rate": learning_rate, "seconds": round(time.monotonic() - began, 2)})
        if task.checkpoints:
            checkpoint = _checkpoint(model, task, cache, split, epoch, transform)
            save_checkpoint(out / "last.pt", checkpoint)
            if improved:
                save_checkpoint(out / "best.pt", checkpoint)
    return history, pred, tempo_rows


def _calibrate(task: RunTask, model, cache: FeatureCache, split: Split, out: Path, pred: np.ndarray,
               transform: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Fit the spread calibration on the training rows, fold it into last.pt; calibrated validation predictions."""
    offset, scale = transform
    fitted = predict_features(model, cache.features[split.train], offset=offset, scale=scale)
    calibration = fit_spread(fitted, cache.targets[split.train])
    if task.checkpoints:
        checkpoint = _checkpoint(model, task, cache, split, task.train.epochs, calibration.fold(offset, scale))
        checkpoint.meta["calibration"] = {"gain": calibration.gain.round(4).tolist()}
        save_checkpoint(out / "last.pt", checkpoint)
    return calibration.apply(pred)


def target_transform(targets: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """(offset, scale) with targets = offset + scale · model output: z-scoring, or the identity."""
    if not standardize:
        return np.zeros(2, np.float32), np.ones(2, np.float32)
    return targets.mean(axis=0).astype(np.float32), np.maximum(targets.std(axis=0), 1e-6).astype(np.float32)


def _epoch(model, optimizer, loss_fn, x, y, batch_size: int, generator: torch.Generator, augment=None,
           tempo=None) -> float:
    """One pass over the training rows in a fresh random order (Keras ``shuffle=True``); ``tempo``
    (``moodmap.research.tempo_augment``) stretches a batch and moves its targets before ``augment``."""
    model.train()
    order = torch.randperm(len(x), generator=generator)
    total, seen = 0.0, 0
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        if len(index) < 2:  # BatchNorm cannot train on a single item
            continue
        optimizer.zero_grad(set_to_none=True)
        batch, target = x.index_select(0, index), y.index_select(0, index)
        if tempo is not None:
            batch, target = tempo(batch, target, index, generator)
        if augment is not None:
            batch = augment(batch, generator)
        loss = loss_fn(model(batch), target)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(index)
        seen += len(index)
    return total / max(seen, 1)


def recalibrate_batchnorm(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> None:
    """Replace BatchNorm running statistics by the average of their batch statistics over ``x``.

    Weights are unchanged; with equal-sized batches the running mean is the exact mean over ``x``.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m, m.momentum) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.eval()
    for m in norms:
        m.train()
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            model(x[start:start + batch_size])
    for m, momentum in saved:
        m.momentum = momentum
    model.eval()


def _checkpoint(model, task: RunTask, cache: FeatureCache, split: Split, epoch: int,
                transform: tuple[np.ndarray, np.ndarray]) -> Checkpoint:
    offset, scale = (tuple(float(v) for v in values) for values in transform)
    train_mean = cache.targets[split.train].mean(axis=0)
    return Checkpoint(model, task.model, cache.config, task.train, target_offset=offset, target_scale=scale,
                      train_mean=tuple(float(m) for m in train_mean),
                      meta={"run": task.run, "epoch": epoch, "cache": str(cache.path),
                            "dataset": cache.dataset_label, "provenance": cache.provenance,
                            "note": provenance.note(cache.provenance),
                            "split": task.train.split,
                            "validation_songs": sorted(set(cache.song_ids[split.validation].tolist()))})


def train_runs(cache_path: str | Path, model: ModelConfig, train: TrainConfig, runs: int, out: str | Path,
               jobs: int = 1, progress=None, engine: Engine = LOCAL) -> dict:
    """Train ``runs`` runs (in ``jobs`` processes, or on Ray), skipping finished ones; returns the summary.

    Each run saves its result as it finishes: Ctrl-C raises ``Interrupted`` and a rerun
    trains only the rest. A run whose worker keeps dying is left out of the summary, which
    names it in ``missing_runs``; a rerun tries it again.
    """
    out = Path(out)
    cache = FeatureCache.open(cache_path)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.json", json.dumps(_provenance(cache, model, train, runs), indent=2))
    results = {r: json.loads((out / f"run-{r}" / "result.json").read_text())
               for r in range(runs) if (out / f"run-{r}" / "result.json").exists()}
    tasks = [RunTask(str(cache.path), model, train, r, str(out / f"run-{r}"), threads_per_task(jobs, engine))
             for r in range(runs) if r not in results]
    loop = run_missing(train_run, tasks, runs, lambda task, result: results.__setitem__(task.run, result),
                       jobs, progress, engine)
    stop_if_interrupted(loop)
    summary = summarise([results[r] for r in sorted(results)], cache, model, train)
    if loop.crashed:
        summary["missing_runs"] = sorted(task.run for task in loop.crashed)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    return summary


def summarise(results: list[dict], cache: FeatureCache, model: ModelConfig, train: TrainConfig) -> dict:
    """Mean ± sd over runs of every metric, with the protocol stated."""
    flat = [_flatten({"last_val_mae": r["last_val_mae"], "best_val_mae": r["best_val_mae"],
                      "evaluation": r["evaluation"]}) for r in results]
    keys = flat[0].keys() if flat else []
    return {
        "protocol": {"dataset": cache.dataset_label, "provenance": cache.provenance, "split": train.split,
                     "validation_fraction": train.validation_fraction, "epochs": train.epochs,
                     "runs": len(results), "excerpts_per_song": train.excerpts or cache.config.excerpts,
                     "song_level": "a song's excerpt predictions averaged"},
        "model_config": config_dict(model), "train_config": config_dict(train),
        "mean": {k: over_runs([f[k] for f in flat])[0] for k in keys},
        "sd": {k: over_runs([f[k] for f in flat])[1] for k in keys},
        "runs": results,
    }


def _flatten(tree: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def _provenance(cache: FeatureCache, model: ModelConfig, train: TrainConfig, runs: int) -> dict:
    return {"cache": str(cache.path), "dataset": cache.provenance, "feature_config": config_dict(cache.config),
            "feature_hash": config_hash(cache.config), "model_config": config_dict(model),
            "train_config": config_dict(train), "runs": runs}


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def evaluate_checkpoint(model_path: str | Path, cache_path: str | Path, rows: str = "validation") -> dict:
    """Score a saved model on a cache: its own validation songs, the official test split, or all rows.

    The baseline is the checkpoint's training-set mean, so it is the same constant the
    model's training run would have had.
    """
    from .models.checkpoint import load_model

    checkpoint = load_model(model_path)  # a registered name or a .pt path: the registry's rule
    cache = FeatureCache.open(cache_path)
    if cache.config != checkpoint.feature_config:
        raise CacheError(cache.path, "its feature config differs from the one the model was trained on")
    excerpts = checkpoint.train_config.excerpts if checkpoint.train_config else None
    candidates = usable_rows(cache, excerpts)
    if rows == "validation":
        held_out = set(checkpoint.meta.get("validation_songs", []))
        if not held_out:
            raise CacheError(model_path, "the model records no validation songs; use --rows test or all")
        selected = candidates[np.isin(cache.song_ids[candidates], list(held_out))]
    elif rows == "test":
        selected = candidates[cache.split[candidates] == "test"]
    else:
        selected = candidates
    if len(selected) == 0:
        raise CacheError(cache.path, f"no rows to evaluate for --rows {rows}")
    pred = predict_features(checkpoint.model, cache.features[selected], offset=checkpoint.target_offset,
                            scale=checkpoint.target_scale)
    levels = evaluate_levels(pred, cache.targets[selected], cache.song_ids[selected], np.array(checkpoint.train_mean))
    return {"rows": rows, "n_rows": int(len(selected)), "model": str(model_path),
            "dataset": cache.dataset_label,
            "split": checkpoint.meta.get("split", "") if rows == "validation" else rows,
            "evaluation": {level: ev.as_dict() for level, ev in levels.items()}}
