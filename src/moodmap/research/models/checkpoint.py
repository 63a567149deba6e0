"""A model in its training form: checkpoints that load safely, by path or registered name, and
run on torch.

A checkpoint holds the weights and everything needed to use them again: the model,
training and feature configs, how raw outputs map onto the 0–1 scale, the training
set's mean (the baseline) and which songs were held out for validation. It is read with
weights_only=True (tensors and plain values only). Prediction on the library side runs a
model's ONNX form (``models.registry``); here a checkpoint predicts on torch, for whoever
has it: ``moodmap predict --model run/last.pt``, evaluation, tests.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ...core import provenance
from ...core.atomic import atomic_path
from ...core.checksums import sha256
from ...core.config import FeatureConfig, ModelConfig, TrainConfig, config_dict, from_dict
from ...core.errors import ModelError
from ...inference.predictor import Predictor
from ...inference.registry import ResolvedModel, is_model_path, model_entry, model_file, note_for
from .networks import build_model

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

    def to_predictor(self) -> Predictor:
        """This model as prediction sees it, on torch (what ``predict_file`` makes of a checkpoint)."""
        return torch_predictor(self)


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


def load_model(name_or_path: str | os.PathLike, folder: Path | None = None) -> Checkpoint:
    """A model in its training form: a registered model's checkpoint by name (sha256-checked), or
    a ``.pt`` file by path (the registry's rule tells which), for evaluating, exporting, or
    predicting on torch."""
    if not is_model_path(name_or_path):
        entry = model_entry(str(name_or_path), folder)
        return _load_checked(str(Path(entry["folder"]) / f"{name_or_path}.pt"), entry["sha256"])
    path = model_file(name_or_path)
    if path.suffix.lower() != ".pt":
        raise ModelError(os.fspath(name_or_path), "an ONNX model has no training form: give its .pt checkpoint")
    return load_checkpoint(path)


@lru_cache(maxsize=4)
def _load_checked(path: str, expected_sha256: str) -> Checkpoint:
    return load_checkpoint(path, expected_sha256)


def resolve_checkpoint(name_or_path: str | os.PathLike, folder: Path | None = None) -> ResolvedModel:
    """A model in its training form, ready to predict on torch, with what to say about it: what
    ``moodmap predict`` runs for a checkpoint that has no registered ONNX form (a run's last.pt)."""
    checkpoint = load_model(name_or_path, folder)
    if is_model_path(name_or_path):
        note = checkpoint.meta.get("note") or provenance.note(checkpoint.meta.get("provenance"))
        digest, description = sha256(model_file(name_or_path)), ""
    else:
        entry = model_entry(str(name_or_path), folder)
        note, digest, description = (note_for(entry) or checkpoint.meta.get("note"), entry["sha256"],
                                     entry.get("description", ""))
    return ResolvedModel(torch_predictor(checkpoint).noted(note), os.fspath(name_or_path), digest, note, description)


def inference_form(checkpoint: Checkpoint) -> Checkpoint:
    """The checkpoint with its network in its fastest inference form (MoodNet: BatchNorm folded
    into the convolutions); the same predictions. Idempotent. Never save or train the result."""
    fused = getattr(checkpoint.model, "fused", None)
    if fused is None or getattr(checkpoint.model, "inference_only", False):
        return checkpoint
    return dataclasses.replace(checkpoint, model=fused())


def torch_predictor(checkpoint: Checkpoint) -> Predictor:
    """A checkpoint as a ``Predictor`` running on torch (its inference form, one call per batch)."""
    model = inference_form(checkpoint).model.eval()

    def forward(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).numpy()

    return Predictor(checkpoint.feature_config, checkpoint.model_config, forward, tuple(checkpoint.target_offset),
                     tuple(checkpoint.target_scale), tuple(checkpoint.train_mean), dict(checkpoint.meta), "torch")
