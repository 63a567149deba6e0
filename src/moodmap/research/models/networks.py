"""Networks built by name from a ModelConfig: the paper's CNN and MoodNet, the improved model.

The research side's (building a network needs PyTorch); prediction on the library side runs a
model's ONNX form (``models.predictor``) and never builds one."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.config import ARCHITECTURES, ModelConfig
from ...core.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn


def build_model(config: ModelConfig, input_shape: tuple[int, int]) -> "nn.Module":
    """A fresh, initialised network for ``config`` and (n_mels, frames) inputs."""
    if config.architecture not in ARCHITECTURES:
        raise ConfigError(None, f"unknown architecture {config.architecture!r}; one of {', '.join(ARCHITECTURES)}")
    if config.architecture == "moodnet":
        from .moodnet import MoodNet

        return MoodNet(config, input_shape)
    from .paper_cnn import PaperCNN

    return PaperCNN(config, input_shape)


__all__ = ["ARCHITECTURES", "build_model"]
