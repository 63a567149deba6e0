"""Accuracy as a careful reviewer wants it: several metrics, always beside a baseline.

Everything here is pure numpy on (n, 2) arrays of (valence, arousal) on the 0–1
scale. ``evaluate`` scores a model's predictions *and* the constant-mean baseline
(the training set's mean, predicted for every item) on the same items, so a MAE of
0.089 can be read against the 0.10 a constant achieves.

Examples
--------
>>> import numpy as np
>>> from moodmap.research.metrics import ccc
>>> round(float(ccc(np.array([.2, .4, .6]), np.array([.2, .4, .6]))), 3)
1.0
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..core.mood import quadrant

DIMENSIONS = ("valence", "arousal")


def mae(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Mean absolute error per column (the paper's metric)."""
    return np.mean(np.abs(pred - true), axis=0)


def rmse(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Root mean squared error per column."""
    return np.sqrt(np.mean((pred - true) ** 2, axis=0))


def pearson(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Pearson r per column; NaN where either side is constant."""
    p = pred - pred.mean(axis=0)
    t = true - true.mean(axis=0)
    varies = (np.ptp(pred, axis=0) > 0) & (np.ptp(true, axis=0) > 0)
    denominator = np.sqrt((p ** 2).sum(axis=0) * (t ** 2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(varies, (p * t).sum(axis=0) / np.where(varies, denominator, 1), np.nan)


def spread(values: np.ndarray) -> np.ndarray:
    """Standard deviation per column, exactly 0 for a constant column."""
    return np.where(np.ptp(values, axis=0) > 0, values.std(axis=0), 0.0)


def r2(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column, against the evaluated targets' own mean."""
    residual = ((true - pred) ** 2).sum(axis=0)
    total = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1), np.nan)


def ccc(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Lin's concordance correlation coefficient per column (population moments)."""
    mp, mt = pred.mean(axis=0), true.mean(axis=0)
    vp, vt = spread(pred) ** 2, spread(true) ** 2
    cov = np.where(vp * vt > 0, ((pred - mp) * (true - mt)).mean(axis=0), 0.0)
    denominator = vp + vt + (mp - mt) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * cov / np.where(denominator > 0, denominator, 1), np.nan)


def quadrant_accuracy(pred: np.ndarray, true: np.ndarray, neutral: float = 0.0) -> float:
    """Share of items whose predicted Russell quadrant is the true one."""
    hits = [quadrant(*p, neutral) == quadrant(*t, neutral) for p, t in zip(pred, true)]
    return float(np.mean(hits)) if hits else float("nan")


@dataclass(frozen=True)
class DimensionScores:
    mae: float
    rmse: float
    r: float
    r2: float
    ccc: float
    pred_sd: float
    target_sd: float


@dataclass(frozen=True)
class Scores:
    """Metrics of one predictor on one set of items."""

    n: int
    valence: DimensionScores
    arousal: DimensionScores
    quadrant_accuracy: float

    @property
    def mean_mae(self) -> float:
        """MAE over both dimensions (the paper's single number)."""
        return (self.valence.mae + self.arousal.mae) / 2

    def as_dict(self) -> dict:
        return {**asdict(self), "mean_mae": self.mean_mae}


def score(pred: np.ndarray, true: np.ndarray) -> Scores:
    """All metrics of ``pred`` against ``true`` (both (n, 2), 0–1 scale)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    columns = mae(pred, true), rmse(pred, true), pearson(pred, true), r2(pred, true), ccc(pred, true), \
        spread(pred), spread(true)
    dims = [DimensionScores(*(float(c[i]) for c in columns)) for i in range(2)]
    return Scores(len(true), dims[0], dims[1], quadrant_accuracy(pred, true))


@dataclass(frozen=True)
class Evaluation:
    """A model and the constant-mean baseline, scored on the same items."""

    level: str  # "excerpt" or "song"
    model: Scores
    baseline: Scores
    baseline_mean: tuple[float, float]

    def as_dict(self) -> dict:
        return {"level": self.level, "model": self.model.as_dict(), "baseline": self.baseline.as_dict(),
                "baseline_mean": list(self.baseline_mean)}


def evaluate(pred: np.ndarray, true: np.ndarray, train_mean: np.ndarray, level: str = "excerpt") -> Evaluation:
    """Score ``pred`` and the constant ``train_mean`` predictor on the same targets."""
    constant = np.broadcast_to(np.asarray(train_mean, np.float64), np.shape(true))
    return Evaluation(level, score(pred, true), score(constant, true), tuple(float(m) for m in train_mean))


def song_means(values: np.ndarray, song_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average rows per song: returns (unique song ids, (n_songs, 2) means)."""
    songs, inverse = np.unique(song_ids, return_inverse=True)
    sums = np.zeros((len(songs), values.shape[1]))
    np.add.at(sums, inverse, values)
    counts = np.bincount(inverse, minlength=len(songs))[:, None]
    return songs, sums / counts


def evaluate_levels(pred: np.ndarray, true: np.ndarray, song_ids: np.ndarray,
                    train_mean: np.ndarray) -> dict[str, Evaluation]:
    """Excerpt-level scores, and song-level scores where a song's excerpts are averaged."""
    _, song_pred = song_means(pred, song_ids)
    _, song_true = song_means(true, song_ids)
    return {"excerpt": evaluate(pred, true, train_mean, "excerpt"),
            "song": evaluate(song_pred, song_true, train_mean, "song")}


def over_runs(values: list[float]) -> tuple[float, float]:
    """Mean and sd over runs of the finite values (r of a constant prediction is NaN and is
    left out); NaN, NaN when none is finite."""
    finite = [v for v in values if np.isfinite(v)]
    return (float(np.mean(finite)), float(np.std(finite))) if finite else (float("nan"), float("nan"))



def run_stats(values: list[float]) -> dict:
    """Mean and sd (``over_runs``) and the values themselves: how compare reports every metric."""
    mean, sd = over_runs(values)
    return {"mean": mean, "sd": sd, "runs": values}
