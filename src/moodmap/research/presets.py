"""Named recipes (model + training): the paper's final model, and the model a user should run.

``paper`` is the paper's final model with its protocol (§3.8, §2.5). ``improved`` is
MoodNet trained so that it does not shrink toward the mean: z-scored targets, a loss
that rewards agreement (MAE + CCC), random 10 s crops of every excerpt and
SpecAugment-style masks each step, BatchNorm statistics re-estimated on whole
excerpts, a cosine learning-rate schedule over 12 epochs, and the prediction spread
matched to the training targets' afterwards.
``train``, ``compare`` and ``sweep --set`` all start from these.

Examples
--------
>>> from moodmap.research.presets import preset
>>> preset("improved").model.architecture
'moodnet'
>>> preset("paper").train.loss
'mae'
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.config import ModelConfig, TrainConfig
from ..core.errors import ConfigError
from ..inference.registry import DEFAULT_MODEL  # the registry's (library side); here too, as before

__all__ = ["DEFAULT_MODEL", "PRESETS", "Preset", "preset"]


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    model: ModelConfig
    train: TrainConfig


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("paper", "the paper's final CNN and protocol (16 filters, 3×3, relu/relu/sigmoid, Adam, MAE, 10 epochs)",
           ModelConfig(), TrainConfig()),
    Preset("improved", "MoodNet: z-scored targets, MAE+CCC loss, random crops + SpecAugment, "
                       "BatchNorm re-estimated, cosine schedule, spread calibrated",
           ModelConfig(architecture="moodnet", filters=16, dropout=0.2),
           TrainConfig(epochs=12, loss="mae+ccc", standardize_targets=True, crop_frames=313, spec_augment=True,
                       recalibrate_batchnorm=True, lr_schedule="cosine", calibrate_spread=True)),
)}


def preset(name: str) -> Preset:
    """The preset called ``name``; an error listing the known ones otherwise."""
    if name not in PRESETS:
        raise ConfigError(None, f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
