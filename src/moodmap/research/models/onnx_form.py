"""A checkpoint's ONNX form: what a library owner's moodmap runs on onnxruntime, without PyTorch
(``moodmap export`` writes it beside the checkpoint; its metadata carries what prediction needs)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from ...core.atomic import atomic_path
from ...core.config import config_dict
from ...inference.predictor import METADATA_KEY
from .checkpoint import Checkpoint, inference_form, sha256

OPSET = 17


def write_onnx(checkpoint: Checkpoint, path: str | Path) -> str:
    """Write the network's inference form as ONNX (batch size free; frames free too when the
    architecture allows), with everything else prediction needs in its metadata; atomically.
    Returns the file's sha256."""
    model = inference_form(checkpoint).model.eval()
    config = checkpoint.feature_config
    example = torch.zeros(2, config.n_mels, config.excerpt_frames)
    axes = {"logmel": {0: "excerpts"}, "raw": {0: "excerpts"}}
    if checkpoint.model_config.architecture == "moodnet":  # pooled over time: any excerpt length
        axes["logmel"][2] = "frames"
    with atomic_path(path) as temp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
        torch.onnx.export(model, (example,), str(temp), input_names=["logmel"], output_names=["raw"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        _attach_metadata(temp, checkpoint)
    return sha256(path)


def _attach_metadata(path: Path, checkpoint: Checkpoint) -> None:
    import onnx

    graph = onnx.load(str(path))
    fields = {"feature_config": config_dict(checkpoint.feature_config),
              "model_config": config_dict(checkpoint.model_config),
              "target_offset": list(checkpoint.target_offset), "target_scale": list(checkpoint.target_scale),
              "train_mean": list(checkpoint.train_mean), "meta": checkpoint.meta}
    entry = graph.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(fields, sort_keys=True)
    graph.producer_name = "moodmap"
    onnx.save(graph, str(path))

