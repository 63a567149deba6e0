"""Label-consistent tempo augmentation (issue 33): the mel-domain stretch, the arousal shift the
generator's tempo term implies, the bpm lookup, and its use in training."""
import json

import numpy as np
import pytest
import torch

from moodmap.research.cache import FeatureCache
from moodmap.core.config import ModelConfig, TrainConfig, config_hash
from moodmap.research.datasets.score import rate, song_params
from moodmap.core.errors import ConfigError
from moodmap.research.tempo_augment import arousal_shift, draw_rates, song_bpm, stretch, tempo_augmenter
from moodmap.research.train import train_runs


def ramp(batch=3, bands=4, frames=100):
    """Every band counts frames: value = frame index (so a stretch is readable from the output)."""
    return torch.arange(frames, dtype=torch.float32).expand(batch, bands, frames).clone()


def test_stretch_reads_frames_at_the_rate_with_pitch_kept():
    x = ramp()
    before = x.clone()
    rates = torch.tensor([1.0, 1.25, 0.8])
    out = stretch(x, rates, 40, torch.Generator().manual_seed(0))
    assert torch.equal(x, before) and out.shape == (3, 4, 40)
    steps = out[:, 0, 1:] - out[:, 0, :-1]
    for i, r in enumerate(rates.tolist()):
        torch.testing.assert_close(steps[i], torch.full((39,), r))
        assert torch.equal(out[i], out[i, :1].expand(4, 40))  # every band the same: nothing moves in pitch
    assert float(out[0, 0, 0]).is_integer()  # rate 1 is a plain crop
    assert (out[:, 0, -1] <= 99).all() and (out[:, 0, 0] >= 0).all()


def test_arousal_shift_follows_the_generator_tempo_term():
    # 120 bpm is tempo 0.5; ×1.25 → 150 bpm, tempo 0.75: 0.8 × 0.30 × 0.25 = 0.06 on the 0–1 label
    assert arousal_shift(np.float32(120.0), 1.25) == pytest.approx(0.06)
    assert arousal_shift(np.float32(120.0), 0.8) == pytest.approx(0.8 * 0.30 * (36 - 60) / 120)
    # clipped where the generator's tempo is: 170 bpm ×1.25 cannot go above tempo 1
    assert arousal_shift(np.float32(170.0), 1.25) == pytest.approx(0.8 * 0.30 * (1 - 110 / 120))
    assert arousal_shift(np.float32(90.0), 1.0) == 0.0


def test_the_shift_is_what_the_generator_would_label():
    params = next(p for p in (song_params(str(i), 1234 + i) for i in range(50)) if 0.2 < p.tempo < 0.8)
    faster = params.__class__(**{**params.__dict__, "tempo": (params.bpm * 1.1 - 60) / 120})
    assert 0 <= faster.tempo <= 1
    implied = (rate(faster).arousal_true - rate(params).arousal_true) / 10
    assert arousal_shift(np.float32(params.bpm), 1.1) == pytest.approx(implied, abs=1e-4)


def test_rates_stay_in_range_and_unknown_tempo_is_never_stretched():
    bpm = torch.tensor([100.0] * 500 + [float("nan")] * 10)
    rates = draw_rates(bpm, 1.25, 10.0, torch.Generator().manual_seed(1))
    assert (rates[:500] >= 0.8 - 1e-6).all() and (rates[:500] <= 1.25 + 1e-6).all()
    assert (rates[:500] > 1).any() and (rates[:500] < 1).any()
    assert (rates[500:] == 1).all()
    assert (draw_rates(bpm, 1.25, 1.1, torch.Generator()) <= 1.1 + 1e-6).all()  # fits in the excerpt


def test_augmenter_moves_arousal_only_and_only_for_known_tempo():
    transform = tempo_augmenter(np.array([120.0, np.nan], np.float32), 1.25, 40, 100, arousal_scale=0.5)
    x, y = ramp(2), torch.tensor([[0.3, 0.4], [0.6, 0.7]])
    out, target = transform(x, y, torch.tensor([0, 1]), torch.Generator().manual_seed(2))
    r = float(out[0, 0, 1] - out[0, 0, 0])
    assert r != pytest.approx(1.0)
    assert float(target[0, 1]) == pytest.approx(0.4 + float(arousal_shift(np.float32(120.0), r)) / 0.5, abs=1e-4)
    assert float(target[0, 0]) == pytest.approx(0.3)
    assert torch.equal(target[1], y[1]) and torch.equal(y, torch.tensor([[0.3, 0.4], [0.6, 0.7]]))
    assert float(out[1, 0, 1] - out[1, 0, 0]) == 1.0


def test_bpm_comes_from_the_synthetic_set_and_is_unknown_elsewhere(synth_cache, synth_set, tmp_path):
    cache = FeatureCache.open(synth_cache)
    bpm = song_bpm(cache)
    assert np.isfinite(bpm).all() and (bpm >= 60).all() and (bpm <= 180).all()
    import csv
    with open(synth_set / "synth_params.csv", newline="") as handle:
        expected = {row["song_id"]: float(row["bpm"]) for row in csv.DictReader(handle)}
    assert bpm[0] == pytest.approx(expected[str(cache.song_ids[0])], abs=0.01)
    cache.meta = {**cache.meta, "dataset": {**cache.meta["dataset"], "root": str(tmp_path), "synthetic": False}}
    assert np.isnan(song_bpm(cache)).all()


def test_the_option_is_off_by_default_and_keeps_old_hashes():
    assert TrainConfig().tempo_stretch is None
    assert config_hash(TrainConfig(excerpts=3)) == "ee0f562ed247"
    assert config_hash(TrainConfig(tempo_stretch=1.25)) != config_hash(TrainConfig())
    with pytest.raises(ConfigError):
        TrainConfig(tempo_stretch=0.9)


def test_training_with_tempo_stretch_differs_and_counts_its_rows(synth_cache, tmp_path):
    model = ModelConfig(architecture="moodnet", filters=4)
    base = TrainConfig(epochs=1, batch_size=8, crop_frames=200, standardize_targets=True)
    tempo = TrainConfig(epochs=1, batch_size=8, crop_frames=200, standardize_targets=True, tempo_stretch=1.25)
    train_runs(synth_cache, model, base, 1, tmp_path / "base")
    train_runs(synth_cache, model, tempo, 1, tmp_path / "tempo")
    a = json.loads((tmp_path / "base" / "run-0" / "result.json").read_text())
    b = json.loads((tmp_path / "tempo" / "run-0" / "result.json").read_text())
    assert "tempo_stretch_rows" not in a and b["tempo_stretch_rows"] == a["train_rows"]
    assert a["last_val_mae"] != b["last_val_mae"]
    with pytest.raises(ConfigError, match="crop_frames"):
        train_runs(synth_cache, model, TrainConfig(epochs=1, tempo_stretch=1.25), 1, tmp_path / "nocrop")


def test_mode_twins_differ_only_in_mode_and_share_a_group(tmp_path):
    import csv as _csv

    from moodmap.research.datasets import load_manifest
    from moodmap.research.datasets.synth import SynthSpec, plan, write_synth_dataset
    from moodmap.research.datasets.twins import PARALLEL_MODES, write_mode_twins

    spec = SynthSpec(songs=3, seed=4, seconds=3.0)
    write_synth_dataset(tmp_path / "set", spec, jobs=1)
    manifest = write_mode_twins(tmp_path / "set", tmp_path / "twins", jobs=1)
    songs = {s.song_id: s for s in load_manifest(manifest, "1-9").songs}
    assert len(songs) == 6
    with open(tmp_path / "twins" / "synth_params.csv", newline="") as handle:
        params = {row["song_id"]: row for row in _csv.DictReader(handle)}
    for original in plan(spec):
        double = params["m" + original.song_id]
        assert double["mode"] == PARALLEL_MODES[original.mode] != original.mode
        assert double["seed"] == str(original.seed) and double["bpm"] == params[original.song_id]["bpm"]
        assert songs["m" + original.song_id].group_key == songs[original.song_id].group_key == original.song_id
        assert songs["m" + original.song_id].arousal == songs[original.song_id].arousal
        major = original.mode in ("ionian", "lydian", "mixolydian")
        assert (songs[original.song_id].valence > songs["m" + original.song_id].valence) == major
        assert songs["m" + original.song_id].path.exists()
