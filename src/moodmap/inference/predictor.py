"""A model as prediction sees it: no PyTorch needed.

Prediction needs four things of a model: the feature layout it was trained on, the map
from its raw outputs to the 0–1 scale, what must be said about it (demo weights), and a
function from log-mel batches to raw outputs. ``Predictor`` holds those. The function is
an onnxruntime session over the model's ONNX form (``NAME.onnx``, written by ``moodmap
export``; its metadata carries the rest), or — for a checkpoint given by path when torch
is installed — the network itself.

>>> from moodmap.inference.registry import resolve
>>> predictor = resolve("improved").predictor              # doctest: +SKIP
>>> predictor.backend                                       # doctest: +SKIP
'onnxruntime'
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.config import FeatureConfig, ModelConfig, from_dict
from ..core.errors import ModelError

METADATA_KEY = "moodmap"  # the ONNX metadata entry holding everything but the network
BATCH = 64  # excerpts per call: a few tens of MB of activations


@dataclass(frozen=True)
class Predictor:
    """A model ready to predict with, on whichever runtime it came with."""

    feature_config: FeatureConfig
    model_config: ModelConfig
    forward: Callable[[np.ndarray], np.ndarray]  # (n, n_mels, frames) float32 → (n, 2) raw outputs
    target_offset: tuple[float, float] = (0.0, 0.0)
    target_scale: tuple[float, float] = (1.0, 1.0)
    train_mean: tuple[float, float] = (0.5, 0.5)
    meta: dict = field(default_factory=dict)
    backend: str = "onnxruntime"

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(n, n_mels, frames) log-mel excerpts → (n, 2) valence/arousal on the 0–1 scale."""
        out = np.empty((len(features), 2), dtype=np.float32)
        for start in range(0, len(features), BATCH):
            batch = np.ascontiguousarray(features[start:start + BATCH], dtype=np.float32)
            out[start:start + len(batch)] = self.forward(batch)
        return out * np.asarray(self.target_scale, np.float32) + np.asarray(self.target_offset, np.float32)

    def noted(self, note: str | None) -> "Predictor":
        """The same model carrying ``note`` in its meta, so every prediction made with it says it."""
        return replace(self, meta={**self.meta, "note": note})


def load_onnx(path: str | Path, threads: int = 1) -> Predictor:
    """The ONNX form of a model on onnxruntime (``threads`` intra-op threads: one per worker
    process, as scan and serve run them)."""
    # Official onnxruntime builds keep telemetry on POSIX too: importing them writes a device id and
    # queues events under ~/.cache/Microsoft. An offline tagger stores and sends none, so it is
    # switched off before the first import (the variable is read then; a user's own setting wins).
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime
        from onnxruntime.capi import onnxruntime_pybind11_state as runtime_errors
    except ImportError:
        raise ModelError(path, "predicting with an ONNX model needs onnxruntime: pip install onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    unloadable = (OSError, KeyError, ValueError, RuntimeError, runtime_errors.Fail, runtime_errors.InvalidArgument,
                  runtime_errors.InvalidGraph, runtime_errors.InvalidProtobuf, runtime_errors.NoSuchFile,
                  runtime_errors.NotImplemented)  # onnxruntime's own errors are no RuntimeErrors
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        fields = json.loads(session.get_modelmeta().custom_metadata_map[METADATA_KEY])
    except unloadable as exc:
        raise ModelError(path, f"not a moodmap ONNX model ({str(exc).splitlines()[0][:200]})") from None
    name = session.get_inputs()[0].name

    def forward(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {name: batch})[0]

    return Predictor(from_dict(FeatureConfig, fields["feature_config"], str(path)),
                     from_dict(ModelConfig, fields["model_config"], str(path)), forward,
                     tuple(fields["target_offset"]), tuple(fields["target_scale"]), tuple(fields["train_mean"]),
                     fields.get("meta", {}), "onnxruntime")
