import numpy as np
import pytest
import torch

from moodmap.core.config import ModelConfig, TrainConfig
from moodmap.research.models.networks import build_model
from moodmap.research.models.checkpoint import load_checkpoint
from moodmap.research.models.moodnet import MoodNet, weight_count
from moodmap.inference.predict import predict_file
from moodmap.research.train import train_runs

IMPROVED = ModelConfig(architecture="moodnet", filters=16, dropout=0.2)


def test_moodnet_is_small_enough_for_two_cores():
    assert 100_000 <= weight_count(MoodNet(IMPROVED)) <= 500_000


@pytest.mark.parametrize("frames", [469, 313, 100])
def test_moodnet_takes_any_excerpt_length(frames):
    model = build_model(IMPROVED, (80, 469)).eval()
    out = model(torch.randn(3, 80, frames))
    assert out.shape == (3, 2) and torch.isfinite(out).all()


def test_moodnet_in_eval_mode_is_deterministic():
    model = MoodNet(IMPROVED)
    model.train()
    x = torch.randn(16, 80, 200) * 10 - 40
    model(x)  # running statistics
    model.eval()
    a, b = model(x[:4]), model(x[:4])
    assert torch.equal(a, b)  # dropout off, running statistics used


def test_every_weight_gets_a_gradient():
    model = MoodNet(IMPROVED)
    loss = model(torch.randn(4, 80, 120)).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_moodnet_trains_saves_and_predicts_through_the_common_path(synth_cache, synth_set, tmp_path):
    summary = train_runs(synth_cache, ModelConfig(architecture="moodnet", filters=4),
                         TrainConfig(epochs=1, batch_size=8), 1, tmp_path / "run")
    assert np.isfinite(summary["mean"]["last_val_mae"])
    checkpoint = load_checkpoint(next((tmp_path / "run").rglob("*.pt")))
    assert isinstance(checkpoint.model, MoodNet)
    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    prediction = predict_file(song, checkpoint)
    assert np.isfinite(prediction.valence) and np.isfinite(prediction.arousal)


def test_the_fused_inference_form_gives_the_same_predictions():
    import torch

    from moodmap.core.config import ModelConfig
    from moodmap.research.models.moodnet import MoodNet

    torch.manual_seed(0)
    model = MoodNet(ModelConfig(architecture="moodnet"))
    with torch.no_grad():  # BatchNorm statistics that are not the identity, as after training
        for module in model.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
    model.eval()
    x = torch.randn(3, 80, 469)
    fused = model.fused()
    with torch.inference_mode():
        assert torch.allclose(model(x), fused(x), atol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the original is untouched


def _pattern_at(band: int, bands: int = 256, frames: int = 64) -> torch.Tensor:
    """Silence (zeros) with one small chord-like pattern whose lowest band is ``band``."""
    x = torch.zeros(1, bands, frames)
    x[0, band:band + 12:4, 8:40] = 3.0
    return x


@pytest.mark.parametrize("pooling", ["global", "time"])
def test_only_time_pooling_tells_where_in_frequency_a_pattern_sits(pooling):
    # 2**5 = 32 bands is the five pools' stride, so the same pattern 32 bands higher makes the same
    # feature maps one row up; with the input's zeros and the padding alike, global pooling cannot
    # tell them apart (register would be invisible), pooling over time only keeps the rows apart.
    torch.manual_seed(0)
    model = MoodNet(ModelConfig(architecture="moodnet", filters=4, frequency_pooling=pooling), (256, 64)).eval()
    with torch.no_grad():
        low, high = model(_pattern_at(96)), model(_pattern_at(128))
    moved = (low - high).abs().max().item()
    if pooling == "global":
        assert moved < 1e-6
    else:
        assert moved > 1e-3


def test_time_pooling_is_for_moodnet_only_and_leaves_the_default_hash():
    from moodmap.core.config import config_hash
    from moodmap.core.errors import ConfigError

    with pytest.raises(ConfigError, match="frequency_pooling"):
        ModelConfig(frequency_pooling="time")  # the paper's CNN flattens: it keeps the rows already
    with pytest.raises(ConfigError, match="frequency_pooling"):
        ModelConfig(architecture="moodnet", frequency_pooling="bands")
    assert config_hash(IMPROVED) == "ad78f449a380"  # as before the setting existed
    assert config_hash(IMPROVED) != config_hash(ModelConfig(architecture="moodnet", filters=16, dropout=0.2,
                                                            frequency_pooling="time"))


def test_a_time_pooled_moodnet_exports_to_onnx_and_predicts_what_torch_predicts(synth_cache, tmp_path):
    from moodmap.inference.predictor import load_onnx
    from moodmap.research.cache import FeatureCache
    from moodmap.research.models.checkpoint import torch_predictor
    from moodmap.research.models.onnx_form import write_onnx

    config = ModelConfig(architecture="moodnet", filters=4, frequency_pooling="time")
    train_runs(synth_cache, config, TrainConfig(epochs=1, batch_size=8), 1, tmp_path / "run")
    checkpoint = load_checkpoint(next((tmp_path / "run").rglob("*.pt")))
    assert checkpoint.model_config.frequency_pooling == "time"
    write_onnx(checkpoint, tmp_path / "model.onnx")
    onnx, torch_form = load_onnx(tmp_path / "model.onnx"), torch_predictor(checkpoint)
    excerpts = np.asarray(FeatureCache.open(synth_cache).features, dtype=np.float32)
    for frames in (157, 313, excerpts.shape[2]):
        features = np.ascontiguousarray(excerpts[:5, :, :frames])
        assert np.abs(onnx.predict(features) - torch_form.predict(features)).max() < 1e-5
