"""Post-hoc spread calibration: stretch predictions so their spread matches the training targets'.

Regression to the mean is the paper model's named flaw (§4.5): predictions huddle around
0.5. This affine map per dimension — ``target_mean + (p − pred_mean) · target_sd / pred_sd``,
fitted on the training set's predictions — restores the spread without changing any rank
order, and folds into a checkpoint's output transform, so ``predict`` applies it for free.

Examples
--------
>>> import numpy as np
>>> pred = np.array([[0.45, 0.5], [0.55, 0.6]]); true = np.array([[0.3, 0.4], [0.7, 0.8]])
>>> fit_spread(pred, true).apply(pred).round(2).tolist()
[[0.3, 0.4], [0.7, 0.8]]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SD = 1e-6


@dataclass(frozen=True)
class SpreadCalibration:
    """Per-dimension means and standard deviations of predictions and targets."""

    pred_mean: np.ndarray
    pred_sd: np.ndarray
    target_mean: np.ndarray
    target_sd: np.ndarray

    @property
    def gain(self) -> np.ndarray:
        return self.target_sd / np.maximum(self.pred_sd, MIN_SD)

    def apply(self, pred: np.ndarray) -> np.ndarray:
        """Calibrated predictions (same shape)."""
        return self.target_mean + (np.asarray(pred) - self.pred_mean) * self.gain

    def fold(self, offset, scale) -> tuple[np.ndarray, np.ndarray]:
        """The output transform ``offset + scale · raw`` followed by this calibration, as one transform."""
        gain = self.gain
        return (self.target_mean + (np.asarray(offset) - self.pred_mean) * gain).astype(np.float32), \
            (np.asarray(scale) * gain).astype(np.float32)


def fit_spread(pred: np.ndarray, targets: np.ndarray) -> SpreadCalibration:
    """Fit on (n, 2) predictions and the targets they were made for (the training set)."""
    pred, targets = np.asarray(pred, np.float64), np.asarray(targets, np.float64)
    return SpreadCalibration(pred.mean(axis=0), pred.std(axis=0), targets.mean(axis=0), targets.std(axis=0))
