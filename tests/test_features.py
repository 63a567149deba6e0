import numpy as np
import pytest

from moodmap.core.audio import load_excerpts
from moodmap.core.config import FeatureConfig
from moodmap.core.features import logmel, mel_power, power_to_db
from moodmap.research.features_reference import logmel_reference

TOLERANCE_DB = 0.05


def test_fast_path_matches_librosa_on_music(synth_set):
    excerpts, _ = load_excerpts(next((synth_set / "clips_45seconds").iterdir()))
    fast, reference = logmel(excerpts), logmel_reference(excerpts)
    assert fast.shape == reference.shape == (3, 80, 469)
    assert np.max(np.abs(fast - reference)) < TOLERANCE_DB


@pytest.mark.parametrize("seconds", [15.0, 7.3, 61.0])
def test_fast_path_matches_librosa_on_noise_and_tones(seconds):
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    y[: 16000] = 0.0  # a silent stretch exercises the dB floor
    assert np.max(np.abs(logmel(y) - logmel_reference(y))) < TOLERANCE_DB


def test_shape_for_a_paper_excerpt():
    assert logmel(np.ones(240000, np.float32) * 0.1).shape == (80, 469)


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(1)
    batch = rng.standard_normal((3, 48000)).astype(np.float32)
    together = logmel(batch)
    for i in range(3):
        np.testing.assert_allclose(together[i], logmel(batch[i]), atol=1e-4)


def test_top_db_clips_per_item():
    power = np.array([[[1.0, 1e-9]], [[1e-3, 1e-9]]], dtype=np.float32)
    db = power_to_db(power, top_db=80.0)
    assert db[0, 0, 1] == pytest.approx(-80.0)  # 80 dB below its own peak of 0 dB
    assert db[1, 0, 1] == pytest.approx(-90.0, abs=1e-3)  # its peak is -30 dB: not clipped


def test_other_configs_are_honoured():
    cfg = FeatureConfig(n_mels=40, n_fft=1024, hop_length=256)
    y = np.random.default_rng(2).standard_normal(16000).astype(np.float32)
    out = logmel(y, cfg)
    assert out.shape == (40, 63)
    assert np.max(np.abs(out - logmel_reference(y, cfg))) < TOLERANCE_DB
    assert mel_power(y, cfg).min() >= 0


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(16000, 2048, 80, 0.0, None), (22050, 1024, 128, 30.0, 8000.0),
                                                       (44100, 4096, 40, 0.0, None)])
def test_own_filterbank_equals_librosas(sr, n_fft, n_mels, fmin, fmax):
    import librosa
    from moodmap.core.features import mel_filterbank

    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)
