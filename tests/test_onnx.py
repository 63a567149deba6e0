"""Prediction runs on onnxruntime: the ONNX form of every model predicts what its PyTorch form
predicts (within 1e-5), for both architectures, any batch and (MoodNet) any excerpt length. A
registered model's checkpoint given by path runs its ONNX form; only a checkpoint with none runs
on torch, and only where `moodmap[train]` is installed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import free_port
from moodmap.core.errors import ModelError
from moodmap.research.models.checkpoint import load_model, resolve_checkpoint, torch_predictor
from moodmap.inference.registry import NoOnnxForm, resolve
from moodmap.inference.predict import predict_file

MOODMAP = str(Path(sys.executable).parent / "moodmap")

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def excerpts(synth_cache):
    """Log-mel excerpts of real (synthetic) songs: what the models see."""
    from moodmap.research.cache import FeatureCache

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
    by_path = resolve(str(path))  # a registered model's .pt: its checked ONNX form runs
    assert by_path.predictor.backend == "onnxruntime" and by_path.sha256 == entry["sha256"]
    assert by_path.name == str(path) and by_path.note == "demo weights, trained on synthetic music"
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    with open(broken / "tiny.onnx", "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00" * 8)
    with pytest.raises(ModelError, match="sha256 does not match"):
        resolve("tiny", broken)


def training_checkpoint(exported, tmp_path) -> Path:
    """A checkpoint as `moodmap train` leaves it: no registry entry, no ONNX form beside it."""
    run = tmp_path / "run" / "run-0"
    run.mkdir(parents=True)
    return Path(shutil.copyfile(exported[0], run / "last.pt"))


def test_only_a_checkpoint_without_an_onnx_form_runs_on_torch(exported, tmp_path):
    path, folder = exported
    last = training_checkpoint(exported, tmp_path)
    with pytest.raises(NoOnnxForm, match="no registered ONNX form"):
        resolve(str(last))
    on_torch = resolve_checkpoint(str(last))
    assert on_torch.predictor.backend == "torch" and on_torch.note == "demo weights, trained on synthetic music"
    copied = tmp_path / "weights"
    shutil.copytree(folder, copied)
    with open(copied / "tiny.pt", "ab") as handle:  # other weights than the entry (and its ONNX form) describe
        handle.write(b"\0")
    with pytest.raises(NoOnnxForm):
        resolve(str(copied / "tiny.pt"))


def predict_json(model: Path, song: Path, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([MOODMAP, "predict", str(song), "--model", str(model), "--format", "json"],
                          capture_output=True, text=True, cwd=cwd, timeout=120, env={**os.environ, **(env or {})})


def test_a_checkpoint_path_says_it_predicts_with_torch(exported, synth_set, tmp_path):
    _, folder = exported
    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    values = []
    for model, says in ((training_checkpoint(exported, tmp_path), True), (folder / "tiny.pt", False),
                        (folder / "tiny.onnx", False)):
        done = predict_json(model, song, tmp_path)
        assert done.returncode == 0, done.stderr
        notes = [line for line in done.stderr.splitlines() if "PyTorch" in line]
        assert notes == ([f"moodmap: note: {model} is a PyTorch checkpoint: predicting with torch; `moodmap export` "
                          "writes its ONNX form, which predicts without torch"] if says else []), done.stderr
        values.append([json.loads(done.stdout)[0][key] for key in ("valence", "arousal")])
    assert np.abs(np.array(values) - values[0]).max() < TOLERANCE  # the same model on either runtime


def test_without_torch_a_registered_checkpoint_runs_and_a_training_one_is_refused_in_one_line(exported, synth_set,
                                                                                               tmp_path):
    hidden = tmp_path / "no-torch" / "torch"  # what `pip install moodmap` (no [train]) gives: no torch to import
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\", name='torch')\n")
    env = {"PYTHONPATH": str(hidden.parent)}
    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    registered = predict_json(exported[0], song, tmp_path, env)
    assert registered.returncode == 0 and json.loads(registered.stdout)[0]["model"] == str(exported[0]), \
        registered.stderr
    last = training_checkpoint(exported, tmp_path)
    for args in (["predict", str(song), "--model", str(last)], ["scan", str(song.parent), "--model", str(last)],
                 ["serve", "--model", str(last), "--port", str(free_port())]):
        done = subprocess.run([MOODMAP, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              env={**os.environ, **env})
        assert done.returncode == 2 and done.stderr.splitlines() == [
            f"moodmap: {last}: a PyTorch checkpoint with no registered ONNX form beside it: `moodmap export RUN "
            "--name NAME` registers its run with one (`moodmap predict` runs it as it is, on torch, with "
            "moodmap[train])"], done.stderr
    assert not (tmp_path / "library.sqlite").exists()
