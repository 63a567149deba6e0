"""The weights shipped inside the package: present, checksummed, honest about their training data."""
import pytest

from moodmap.models.card import SYNTHETIC_WARNING
from moodmap.models.registry import WEIGHTS, available_models, load_model
from moodmap.models.paper_cnn import keras_weight_count


def test_paper_model_is_shipped_and_loads_offline():
    models = available_models()
    assert "paper" in models, "moodmap/weights/paper.pt is missing: `moodmap export RUN --name paper`"
    checkpoint = load_model("paper")
    assert keras_weight_count(checkpoint.model) == 516_058
    assert (WEIGHTS / "paper.pt").stat().st_size < 5_000_000


def test_shipped_card_says_it_is_demo_weights():
    card = (WEIGHTS / "paper.md").read_text()
    assert SYNTHETIC_WARNING in card and "baseline" in card
    assert "synthetic" in available_models()["paper"]["description"]


def test_predict_uses_the_shipped_model_by_default(synth_set):
    from moodmap.predict import Prediction, predict

    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    (result,) = predict([song])
    assert isinstance(result, Prediction) and result.model == "paper"
