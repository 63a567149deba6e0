"""Prediction runs on onnxruntime: the ONNX form of every model predicts what its PyTorch form
predicts (within 1e-5), for both architectures, any batch and (MoodNet) any excerpt length."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from moodmap.errors import ModelError
from moodmap.models.onnx_form import torch_predictor
from moodmap.models.registry import load_model, resolve
from moodmap.predict import predict_file

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def excerpts(synth_cache):
    """Log-mel excerpts of real (synthetic) songs: what the models see."""
    from moodmap.cache import FeatureCache

    return np.asarray(FeatureCache.open(synth_cache).features, dtype=np.float32)


@pytest.mark.parametrize("name", ["improved", "paper"])
def test_shipped_onnx_predicts_what_torch_predicts(name, excerpts):
    onnx = resolve(name).predictor
    torch = torch_predictor(load_model(name))
    assert onnx.backend == "onnxruntime" and torch.backend == "torch"
    for batch in (1, 3, 70):  # 70 crosses the predictor's batch of 64
        features = np.resize(excerpts, (batch, *excerpts.shape[1:]))
        assert np.abs(onnx.predict(features) - torch.predict(features)).max() < TOLERANCE


def test_moodnet_takes_any_excerpt_length(excerpts):
    onnx, torch = resolve("improved").predictor, torch_predictor(load_model("improved"))
    for frames in (157, 313, 400):
        features = np.ascontiguousarray(excerpts[:4, :, :frames])
        assert np.abs(onnx.predict(features) - torch.predict(features)).max() < TOLERANCE


def test_a_file_predicts_the_same_on_both_runtimes(synth_set):
    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    for name in ("improved", "paper"):
        a = predict_file(song, resolve(name).predictor, name, timeline=True, hop=10.0)
        b = predict_file(song, torch_predictor(load_model(name)), name, timeline=True, hop=10.0)
        assert abs(a.valence - b.valence) < TOLERANCE and abs(a.arousal - b.arousal) < TOLERANCE
        assert a.note == "demo weights, trained on synthetic music"
        assert np.allclose([(p.valence, p.arousal) for p in a.timeline], [(p.valence, p.arousal) for p in b.timeline],
                           atol=TOLERANCE)


def test_export_writes_the_onnx_form_and_the_registry_checks_it(exported, tmp_path):
    path, folder = exported
    entry = json.loads((folder / "tiny.json").read_text())
    assert (folder / "tiny.onnx").exists() and len(entry["onnx_sha256"]) == 64
    resolved = resolve("tiny", folder)
    assert resolved.predictor.backend == "onnxruntime" and resolved.sha256 == entry["sha256"]
    assert resolve(str(folder / "tiny.onnx")).predictor.backend == "onnxruntime"
    assert resolve(str(path)).predictor.backend == "torch"  # a .pt path runs on torch
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    with open(broken / "tiny.onnx", "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00" * 8)
    with pytest.raises(ModelError, match="sha256 does not match"):
        resolve("tiny", broken)


def test_a_checkpoint_path_says_it_predicts_with_torch(exported, synth_set, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    _, folder = exported
    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    moodmap = str(Path(sys.executable).parent / "moodmap")
    for model, says in ((folder / "tiny.pt", True), (folder / "tiny.onnx", False)):
        done = subprocess.run([moodmap, "predict", str(song), "--model", str(model)], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        assert ("is a PyTorch checkpoint: predicting with torch" in done.stderr) is says, done.stderr
