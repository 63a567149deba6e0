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


def _peak_band(hz: float, config) -> int:
    t = np.arange(16000) / 16000
    return int(np.argmax(logmel(np.sin(2 * np.pi * hz * t).astype(np.float32), config)[:, 10:-10].mean(axis=1)))


def test_log_bands_tell_a_semitone_apart_where_mel_bands_do_not():
    """The reason for frequency_scale=log: A3 and B♭3 (a minor third's and a major third's difference, in
    a chord around middle C) fall in one mel band of 80 and in neighbouring log bands."""
    mel, log = FeatureConfig(), FeatureConfig(frequency_scale="log", fmin=110.0)
    assert _peak_band(220.0, mel) == _peak_band(233.08, mel)
    assert _peak_band(233.08, log) - _peak_band(220.0, log) == 1
    edges = np.geomspace(110.0, 8000.0, 82)
    for hz in (150.0, 440.0, 1000.0, 3000.0):  # a tone peaks in the band centred nearest it (in log frequency)
        assert _peak_band(hz, log) == int(np.argmin(np.abs(np.log(edges[1:-1] / hz)))), hz


def test_the_default_features_keep_their_key_and_a_log_scale_is_a_new_one():
    """Caches and shipped models are keyed by the feature config's hash: adding the setting left the
    default's key as it was; a log-scale cache is another cache, never mixed with a mel one."""
    from moodmap.core.config import config_hash

    assert config_hash(FeatureConfig()) == "4052c3ef75f1"
    assert config_hash(FeatureConfig(frequency_scale="log", fmin=110.0)) != config_hash(FeatureConfig(fmin=110.0))


@pytest.mark.parametrize("fmin", [0.0, 60.0])
def test_log_bands_that_would_hold_no_fft_bin_are_refused(fmin):
    """From 0 Hz there is no log scale; from 60 Hz the lowest of 80 bands is narrower than the 7.8 Hz
    between FFT bins and would be empty."""
    from moodmap.core.errors import ConfigError

    with pytest.raises(ConfigError, match="frequency_scale"):
        FeatureConfig(frequency_scale="log", fmin=fmin)
