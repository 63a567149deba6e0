"""Checkpoints that load safely: tensors and plain values only, read with weights_only=True.

A checkpoint holds the weights and everything needed to use them again: the model,
training and feature configs, how raw outputs map onto the 0–1 scale, the training
set's mean (the baseline) and which songs were held out for validation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..checksums import sha256
from ..config import FeatureConfig, ModelConfig, TrainConfig, config_dict, from_dict
from ..errors import ModelError
from . import build_model

FORMAT = "moodmap-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """A trained model with its provenance."""

    model: torch.nn.Module
    model_config: ModelConfig
    feature_config: FeatureConfig
    train_config: TrainConfig | None = None
    target_offset: tuple[float, float] = (0.0, 0.0)
    target_scale: tuple[float, float] = (1.0, 1.0)
    train_mean: tuple[float, float] = (0.5, 0.5)
    meta: dict = field(default_factory=dict)


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> str:
    """Write atomically; returns the file's sha256."""
    payload = {
        "format": FORMAT, "version": VERSION,
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in checkpoint.model.state_dict().items()},
        "model_config": config_dict(checkpoint.model_config),
        "feature_config": config_dict(checkpoint.feature_config),
        "train_config": config_dict(checkpoint.train_config) if checkpoint.train_config else None,
        "target_offset": list(checkpoint.target_offset), "target_scale": list(checkpoint.target_scale),
        "train_mean": list(checkpoint.train_mean), "meta": checkpoint.meta,
    }
    with atomic_path(path) as temp:
        torch.save(payload, temp)
    return sha256(path)


def load_checkpoint(path: str | Path, expected_sha256: str | None = None) -> Checkpoint:
    """Read a checkpoint without unpickling arbitrary objects; the model is in eval mode."""
    path = Path(path)
    if expected_sha256 is not None and sha256(path) != expected_sha256:
        raise ModelError(path, "sha256 does not match: the file is corrupt or not the one expected")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(path, "no such model file") from None
    except Exception as exc:  # noqa: BLE001 — torch raises many types for a bad file
        raise ModelError(path, f"not a loadable moodmap checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(path, "not a moodmap checkpoint")
    model_config = from_dict(ModelConfig, payload["model_config"], str(path))
    feature_config = from_dict(FeatureConfig, payload["feature_config"], str(path))
    model = build_model(model_config, (feature_config.n_mels, feature_config.excerpt_frames))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ModelError(path, f"weights do not fit the model config: {exc}") from None
    model.eval()
    train = payload.get("train_config")
    return Checkpoint(model, model_config, feature_config, from_dict(TrainConfig, train, str(path)) if train else None,
                      tuple(payload["target_offset"]), tuple(payload["target_scale"]), tuple(payload["train_mean"]),
                      payload.get("meta", {}))
