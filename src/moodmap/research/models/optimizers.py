"""The optimizers of the paper's Table 3, with Keras 2.2.4's defaults (mid-2019 Keras).

| name | learning rate | other Keras defaults |
|---|---|---|
| adam | 0.001 | β = (0.9, 0.999), ε = 1e-7 |
| sgd | 0.01 | no momentum |
| rmsprop | 0.001 | ρ = 0.9, ε = 1e-7 |
| adagrad | 0.01 | ε = 1e-7, accumulator starts at 0 |
| adadelta | 1.0 | ρ = 0.95, ε = 1e-7 |
| adamax | 0.002 | β = (0.9, 0.999), ε = 1e-7 |
| nadam | 0.002 | β = (0.9, 0.999), ε = 1e-7, schedule decay 0.004 |
"""
from __future__ import annotations

from collections.abc import Iterable

import torch

KERAS_EPSILON = 1e-7

DEFAULT_LEARNING_RATES = {"adam": 0.001, "sgd": 0.01, "rmsprop": 0.001, "adagrad": 0.01, "adadelta": 1.0,
                          "adamax": 0.002, "nadam": 0.002}


def make_optimizer(name: str, parameters: Iterable[torch.nn.Parameter],
                   learning_rate: float | None = None) -> torch.optim.Optimizer:
    """A torch optimizer configured like its Keras 2.2.4 namesake."""
    lr = DEFAULT_LEARNING_RATES[name] if learning_rate is None else learning_rate
    params = list(parameters)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=KERAS_EPSILON)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.0)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=KERAS_EPSILON)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=0.0, eps=KERAS_EPSILON)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, rho=0.95, eps=KERAS_EPSILON)
    if name == "adamax":
        return torch.optim.Adamax(params, lr=lr, betas=(0.9, 0.999), eps=KERAS_EPSILON)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=lr, betas=(0.9, 0.999), eps=KERAS_EPSILON, momentum_decay=0.004)
    raise ValueError(f"unknown optimizer {name!r}")
