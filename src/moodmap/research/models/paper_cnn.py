"""The paper's CNN (§2.3, Fig. 4), with Keras semantics.

Conv2D(filters, k×k, 'valid') → act → MaxPool(p×p, stride p, 'valid') → Flatten →
Dense(8) → act → BatchNorm → Dropout → Dense(2) → output act.

Two speed-ups that change no number: for a non-decreasing activation (relu,
sigmoid, tanh, softsign, …) ``maxpool(act(x)) == act(maxpool(x))``, so the
activation runs after pooling on p² fewer values; and the layers run channels-last.
Initialisation is Keras's (Glorot-uniform kernels, zero biases); BatchNorm uses
Keras's momentum 0.99 and epsilon 1e-3.
"""
from __future__ import annotations

import torch
from torch import nn

from ...core.config import ModelConfig

MONOTONIC = {"relu", "sigmoid", "tanh", "softsign", "linear", "elu", "selu", "softplus", "hard_sigmoid"}


class HardSigmoid(nn.Module):
    """Keras's hard_sigmoid: clip(0.2·x + 0.5, 0, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def activation(name: str) -> nn.Module:
    """A Keras activation by name."""
    return {
        "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "softsign": nn.Softsign,
        "linear": nn.Identity, "elu": nn.ELU, "selu": nn.SELU, "softplus": nn.Softplus,
        "hard_sigmoid": HardSigmoid,
    }[name]()


class PaperCNN(nn.Module):
    """The 2019 TU Berlin mood CNN for an (n_mels, frames) log-mel input."""

    def __init__(self, config: ModelConfig = ModelConfig(), input_shape: tuple[int, int] = (80, 469)) -> None:
        super().__init__()
        self.config = config
        self.input_shape = input_shape
        height = (input_shape[0] - config.kernel + 1) // config.pool
        width = (input_shape[1] - config.kernel + 1) // config.pool
        if height < 1 or width < 1:
            raise ValueError(f"input {input_shape} too small for kernel {config.kernel} and pool {config.pool}")
        self.flat_features = config.filters * height * width
        self.conv = nn.Conv2d(1, config.filters, config.kernel)
        self.pool = nn.MaxPool2d(config.pool)
        self.conv_act = activation(config.conv_activation)
        self.pool_first = config.conv_activation in MONOTONIC
        self.dense = nn.Linear(self.flat_features, config.dense_units)
        self.dense_act = activation(config.dense_activation)
        self.norm = nn.BatchNorm1d(config.dense_units, eps=1e-3, momentum=0.01)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.dense_units, 2)
        self.out_act = activation(config.output_activation)
        self.reset_parameters()
        self.to(memory_format=torch.channels_last)

    def reset_parameters(self) -> None:
        """Keras defaults: Glorot-uniform weights, zero biases."""
        for layer in (self.conv, self.dense, self.out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.norm.reset_parameters()
        self.norm.reset_running_stats()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_mels, frames) or (batch, 1, n_mels, frames) → (batch, 2): valence, arousal."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = self.conv(x.contiguous(memory_format=torch.channels_last))
        x = self.conv_act(self.pool(x)) if self.pool_first else self.pool(self.conv_act(x))
        # Keras flattens channels-last (H, W, C); the order matters only for porting weights.
        x = torch.flatten(x.permute(0, 2, 3, 1), 1)
        x = self.dropout(self.norm(self.dense_act(self.dense(x))))
        return self.out_act(self.out(x))


def keras_weight_count(model: PaperCNN) -> int:
    """Weights as Keras counts them: parameters plus BatchNorm's moving mean and variance."""
    params = sum(p.numel() for p in model.parameters())
    return params + model.norm.running_mean.numel() + model.norm.running_var.numel()


def expected_keras_weight_count(config: ModelConfig, input_shape: tuple[int, int] = (80, 469)) -> int:
    """The paper's formula: filters·(k·k+1) + flat·8 + 8 + 4·8 + 8·2 + 2 (for 8 dense units)."""
    height = (input_shape[0] - config.kernel + 1) // config.pool
    width = (input_shape[1] - config.kernel + 1) // config.pool
    flat = config.filters * height * width
    units = config.dense_units
    return config.filters * (config.kernel ** 2 + 1) + flat * units + units + 4 * units + units * 2 + 2
