"""Every number says where it came from: whether weights were trained on synthetic music is
recorded when the cache is prepared and carried through training, export and prediction —
it does not depend on the folder a command runs in, or on the generated songs still existing."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
from typer.testing import CliRunner

from moodmap.cli import app
from moodmap.core.provenance import DEMO_NOTE


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def trained_elsewhere(tmp_path, monkeypatch):
    """A user's session: synth and prepare with relative paths in one folder, then everything
    else from another folder, after deleting the generated songs."""
    monkeypatch.setenv("MOODMAP_MODELS", str(tmp_path / "models"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    run("synth", "data", "--songs", "8", "--seed", "5", "--jobs", "1")
    run("prepare", "data", "--out", "cache", "--jobs", "1")
    shutil.rmtree(work / "data")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return work


def test_info_says_synthetic_from_any_folder_after_the_songs_are_gone(trained_elsewhere):
    out = run("info", str(trained_elsewhere / "cache"))
    assert "emomusic (synthetic, `moodmap synth --renderer numpy`" in out
    meta = json.loads(next((trained_elsewhere / "cache").glob("*/meta.json")).read_text())
    assert meta["dataset"]["root"] == str(trained_elsewhere / "data")  # absolute, as recorded
    assert meta["dataset"]["synth"]["seed"] == 5 and meta["dataset"]["synth"]["songs"] == 8


def test_training_export_and_prediction_carry_the_note(trained_elsewhere, tmp_path):
    cache = str(trained_elsewhere / "cache")
    run("train", cache, "--out", "run", "--runs", "2", "--epochs", "1", "--set", "filters=4")
    summary = json.loads((tmp_path / "elsewhere" / "run" / "summary.json").read_text())
    assert summary["protocol"]["provenance"]["synthetic"] is True
    checkpoint = torch.load(tmp_path / "elsewhere" / "run" / "run-0" / "last.pt", weights_only=True)
    assert checkpoint["meta"]["note"] == DEMO_NOTE and checkpoint["meta"]["provenance"]["synth"]["seed"] == 5

    run("export", "run", "--name", "mine")
    entry = json.loads((tmp_path / "models" / "mine.json").read_text())
    assert entry["synthetic"] is True and entry["provenance"]["synth"]["renderer"] == "numpy"
    card = (tmp_path / "models" / "mine.md").read_text()
    assert "Demo weights, trained on synthetic music" in card
    assert "`moodmap synth DATA --songs 8 --seed 5 --renderer numpy`" in card

    song = tmp_path / "song.wav"
    _tone(song)
    for model in ("mine", str(tmp_path / "elsewhere" / "run" / "run-0" / "last.pt")):  # by name, by path
        assert json.loads(run("predict", str(song), "--model", model, "--format", "json"))[0]["note"] == DEMO_NOTE
        rows = list(csv.DictReader(run("predict", str(song), "--model", model, "--format", "csv").splitlines()))
        assert rows[0]["note"] == DEMO_NOTE


def test_a_cache_made_before_provenance_is_recorded_on_its_next_prepare(tmp_path, monkeypatch, synth_set):
    """An old meta.json (name and root only): the next `prepare` records what the folder shows."""
    out = tmp_path / "cache"
    run("prepare", str(synth_set), "--out", str(out), "--jobs", "1")
    meta_path = next(out.glob("*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta["dataset"] = {"name": "emomusic", "root": str(synth_set)}
    meta_path.write_text(json.dumps(meta))
    run("prepare", str(synth_set), "--out", str(out), "--jobs", "1")
    assert json.loads(meta_path.read_text())["dataset"]["synthetic"] is True


def test_real_music_carries_no_note(tmp_path):
    from moodmap.core.provenance import dataset_record, label, note

    (tmp_path / "clips_45seconds").mkdir()
    record = dataset_record("deam", tmp_path)
    assert record["synthetic"] is False and note(record) is None and label(record) == "deam"


def _tone(path) -> None:
    import numpy as np
    import soundfile as sf

    t = np.arange(16000 * 20) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16000)
