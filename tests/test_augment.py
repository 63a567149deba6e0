import numpy as np
import torch

from moodmap.research.augment import MAX_MASKED_BANDS, augmenter, random_crop, spec_augment
from moodmap.core.config import ModelConfig, TrainConfig, config_hash
from moodmap.research.models.checkpoint import load_checkpoint
from moodmap.research.cache import FeatureCache
from moodmap.research.train import make_split, train_runs


def batch():
    return torch.arange(4 * 80 * 469, dtype=torch.float32).reshape(4, 80, 469) % 997


def test_random_crop_takes_contiguous_windows_from_varied_starts():
    x = batch()
    out = random_crop(x, 300, torch.Generator().manual_seed(1))
    assert out.shape == (4, 80, 300)
    starts = []
    for i in range(4):
        start = int((x[i, 0] == out[i, 0, 0]).nonzero()[0])
        assert torch.equal(out[i], x[i, :, start:start + 300])
        starts.append(start)
    assert len(set(starts)) > 1
    assert random_crop(x, 469, torch.Generator()) is x


def test_spec_augment_masks_a_few_bands_and_frames_and_leaves_the_input_alone():
    x = batch()
    before = x.clone()
    out = spec_augment(x, torch.Generator().manual_seed(3))
    assert torch.equal(x, before)
    changed = out != x
    for i in range(4):
        bands = changed[i].all(dim=1).sum()  # a masked band is changed at every frame
        frames = changed[i].all(dim=0).sum()
        assert bands <= MAX_MASKED_BANDS and frames <= 47
        assert torch.allclose(out[i][changed[i]], x[i].mean().expand(int(changed[i].sum())))


def test_augmentation_is_reproducible_from_the_generator():
    transform = augmenter(200, True)
    a = transform(batch(), torch.Generator().manual_seed(7))
    b = transform(batch(), torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and a.shape == (4, 80, 200)
    assert augmenter(None, False) is None


def test_new_training_options_leave_existing_hashes_alone():
    assert config_hash(TrainConfig(excerpts=3)) == "ee0f562ed247"  # the key of stored sweep results
    assert config_hash(TrainConfig(excerpts=3, standardize_targets=True)) != "ee0f562ed247"


def test_standardized_training_maps_predictions_back_to_the_unit_scale(synth_cache, tmp_path):
    train = TrainConfig(epochs=1, batch_size=8, standardize_targets=True, crop_frames=200, spec_augment=True)
    train_runs(synth_cache, ModelConfig(architecture="moodnet", filters=4), train, 1, tmp_path / "run")
    checkpoint = load_checkpoint(tmp_path / "run" / "run-0" / "last.pt")
    cache = FeatureCache.open(synth_cache)
    targets = cache.targets[make_split(cache, train, 0).train]
    np.testing.assert_allclose(checkpoint.target_offset, targets.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(checkpoint.target_scale, targets.std(axis=0), rtol=1e-5)


def test_crops_are_refused_for_the_fixed_size_paper_model(synth_cache, tmp_path):
    import pytest

    from moodmap.core.errors import ConfigError

    with pytest.raises(ConfigError, match="crop_frames"):
        train_runs(synth_cache, ModelConfig(), TrainConfig(epochs=1, crop_frames=200), 1, tmp_path / "run")


def test_spread_calibration_keeps_rank_order_and_matches_the_training_spread():
    from moodmap.research.calibration import fit_spread

    rng = np.random.default_rng(0)
    true = rng.uniform(0.1, 0.9, (200, 2))
    pred = 0.5 + 0.3 * (true - 0.5) + rng.normal(0, 0.02, (200, 2))  # shrunk toward the middle
    calibration = fit_spread(pred, true)
    out = calibration.apply(pred)
    np.testing.assert_allclose(out.std(axis=0), true.std(axis=0), rtol=1e-9)
    for k in range(2):
        assert (np.argsort(out[:, k]) == np.argsort(pred[:, k])).all()
    offset, scale = calibration.fold(np.array([0.1, 0.2]), np.array([2.0, 3.0]))
    raw = rng.normal(size=(5, 2))
    np.testing.assert_allclose(offset + scale * raw, calibration.apply(np.array([0.1, 0.2]) + np.array([2.0, 3.0]) * raw),
                               rtol=1e-5)


def test_calibrated_runs_report_both_and_ship_the_calibration_in_the_checkpoint(synth_cache, synth_set, tmp_path):
    from moodmap.research.models.torch_predict import predict_features

    train = TrainConfig(epochs=1, batch_size=8, calibrate_spread=True)
    summary = train_runs(synth_cache, ModelConfig(filters=4), train, 1, tmp_path / "run")
    run = summary["runs"][0]
    assert "evaluation_uncalibrated" in run
    cache = FeatureCache.open(synth_cache)
    split = make_split(cache, train, 0)
    checkpoint = load_checkpoint(tmp_path / "run" / "run-0" / "last.pt")
    pred = predict_features(checkpoint.model, cache.features[split.train], offset=checkpoint.target_offset,
                            scale=checkpoint.target_scale)
    np.testing.assert_allclose(pred.std(axis=0), cache.targets[split.train].std(axis=0), rtol=1e-3)
