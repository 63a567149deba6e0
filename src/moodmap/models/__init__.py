"""Models built by name from a ModelConfig: the paper's CNN and MoodNet, the improved model."""
from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from .moodnet import MoodNet
from .paper_cnn import PaperCNN

ARCHITECTURES = {"paper_cnn": PaperCNN, "moodnet": MoodNet}


def build_model(config: ModelConfig, input_shape: tuple[int, int]) -> nn.Module:
    """A fresh, initialised network for ``config`` and (n_mels, frames) inputs."""
    try:
        cls = ARCHITECTURES[config.architecture]
    except KeyError:
        raise ConfigError(None, f"unknown architecture {config.architecture!r}; one of {', '.join(ARCHITECTURES)}") from None
    return cls(config, input_shape)


__all__ = ["ARCHITECTURES", "MoodNet", "PaperCNN", "build_model"]
