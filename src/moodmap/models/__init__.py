"""Models: the paper's CNN now, more later; built by name from a ModelConfig."""
from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from .paper_cnn import PaperCNN

ARCHITECTURES = {"paper_cnn": PaperCNN}


def build_model(config: ModelConfig, input_shape: tuple[int, int]) -> nn.Module:
    """A fresh, initialised network for ``config`` and (n_mels, frames) inputs."""
    try:
        cls = ARCHITECTURES[config.architecture]
    except KeyError:
        raise ConfigError(None, f"unknown architecture {config.architecture!r}; one of {', '.join(ARCHITECTURES)}") from None
    return cls(config, input_shape)


__all__ = ["ARCHITECTURES", "PaperCNN", "build_model"]
