import pytest

from moodmap.core.config import FeatureConfig, config_hash, load_toml, with_overrides
from moodmap.core.errors import ConfigError


def test_defaults_are_the_papers_choices():
    cfg = FeatureConfig()
    assert (cfg.sample_rate, cfg.n_mels, cfg.n_fft, cfg.hop_length) == (16000, 80, 2048, 512)
    assert (cfg.excerpt_seconds, cfg.excerpts, cfg.excerpt_frames) == (15.0, 3, 469)


def test_hash_is_stable_and_follows_values():
    assert config_hash(FeatureConfig()) == config_hash(FeatureConfig())
    assert config_hash(FeatureConfig()) != config_hash(FeatureConfig(n_mels=64))
    assert len(config_hash(FeatureConfig())) == 12


def test_overrides_coerce_types_and_none():
    cfg = with_overrides(FeatureConfig(), ["n_mels=64", "excerpt_seconds=10", "fmax=none", "top_db=60"])
    assert cfg.n_mels == 64 and isinstance(cfg.n_mels, int)
    assert cfg.excerpt_seconds == 10.0 and cfg.fmax is None and cfg.top_db == 60.0


@pytest.mark.parametrize("bad", ["nonsense=1", "n_mels=abc", "n_mels", "anchor=middle", "n_mels=1.5"])
def test_bad_overrides_raise_config_error(bad):
    with pytest.raises(ConfigError):
        with_overrides(FeatureConfig(), [bad])


def test_toml_table_is_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[features]\nn_mels = 40\nexcerpts = 1\n")
    cfg = load_toml(FeatureConfig, path, "features")
    assert (cfg.n_mels, cfg.excerpts) == (40, 1)


def test_toml_unknown_key_names_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[features]\nbands = 40\n")
    with pytest.raises(ConfigError, match="c.toml.*bands"):
        load_toml(FeatureConfig, path, "features")
