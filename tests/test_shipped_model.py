"""The weights shipped inside the package: present, checksummed, honest about their training data."""
import pytest

from moodmap.research.models.card import SYNTHETIC_WARNING
from moodmap.research.models.paper_cnn import keras_weight_count
from moodmap.research.models.checkpoint import load_model
from moodmap.inference.registry import WEIGHTS, available_models
from moodmap.research.presets import DEFAULT_MODEL


def test_paper_model_is_shipped_and_loads_offline():
    models = available_models()
    assert "paper" in models, "moodmap/weights/paper.pt is missing: `moodmap export RUN --name paper`"
    checkpoint = load_model("paper")
    assert keras_weight_count(checkpoint.model) == 516_058
    assert (WEIGHTS / "paper.pt").stat().st_size < 5_000_000


def test_improved_model_is_shipped_and_is_moodnet():
    assert "improved" in available_models(), "moodmap/weights/improved.pt is missing"
    checkpoint = load_model("improved")
    assert checkpoint.model_config.architecture == "moodnet"
    assert sum(p.numel() for p in checkpoint.model.parameters()) < 300_000
    assert checkpoint.train_config.calibrate_spread and checkpoint.train_config.loss == "mae+ccc"


@pytest.mark.parametrize("name", ["paper", "improved"])
def test_shipped_cards_say_they_are_demo_weights(name):
    card = (WEIGHTS / f"{name}.md").read_text()
    assert SYNTHETIC_WARNING in card and "baseline" in card
    assert "synthetic" in available_models()[name]["description"]


def test_the_improved_model_is_the_default_and_the_paper_model_one_flag_away(synth_set):
    from moodmap.inference.predict import Prediction, predict

    assert DEFAULT_MODEL == "improved"
    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    (default,) = predict([song])
    (paper,) = predict([song], "paper")
    assert isinstance(default, Prediction) and default.model == "improved" and paper.model == "paper"
