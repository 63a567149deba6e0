"""Training losses on (batch, 2) predictions: the paper's MAE, and agreement-aware ones."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def ccc_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """1 − mean concordance correlation over the two dimensions (batch statistics)."""
    mp, mt = pred.mean(0), true.mean(0)
    vp, vt = pred.var(0, unbiased=False), true.var(0, unbiased=False)
    cov = ((pred - mp) * (true - mt)).mean(0)
    ccc = 2 * cov / (vp + vt + (mp - mt) ** 2 + 1e-8)
    return 1.0 - ccc.mean()


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mae": F.l1_loss,
    "mse": F.mse_loss,
    "huber": F.huber_loss,
    "ccc": ccc_loss,
    "mae+ccc": lambda p, t: F.l1_loss(p, t) + ccc_loss(p, t),
}
