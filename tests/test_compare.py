"""moodmap compare: identical splits for every model, the baseline beside them, paired tests, JSON."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from moodmap.research.cache import FeatureCache
from moodmap.cli import app
from moodmap.research.compare import Protocol, check_identical_splits, compare_models, paired_test
from moodmap.core.config import TrainConfig
from moodmap.core.errors import ConfigError
from moodmap.research.presets import PRESETS, preset
from moodmap.research.train import make_split


def test_protocol_imposes_the_same_split_on_every_preset(synth_cache):
    cache = FeatureCache.open(synth_cache)
    protocol = Protocol(runs=3)
    for run in range(3):
        splits = [make_split(cache, protocol.apply(p.train), run) for p in PRESETS.values()]
        assert len({s.digest() for s in splits}) == 1
        assert np.array_equal(splits[0].validation, splits[1].validation)
    assert make_split(cache, protocol.apply(preset("paper").train), 0).digest() != \
        make_split(cache, protocol.apply(preset("paper").train), 1).digest()


def test_folds_cover_every_song_exactly_once(synth_cache):
    cache = FeatureCache.open(synth_cache)
    config = TrainConfig(folds=4)
    held_out = [set(cache.song_ids[make_split(cache, config, k).validation]) for k in range(4)]
    assert sum(len(h) for h in held_out) == len(set(cache.song_ids))
    assert set().union(*held_out) == set(cache.song_ids)
    for k in range(4):
        split = make_split(cache, config, k)
        assert not set(cache.song_ids[split.train]) & held_out[k]


def test_folds_need_the_grouped_split():
    with pytest.raises(ConfigError, match="folds"):
        TrainConfig(folds=5, split="random")
    with pytest.raises(ConfigError, match="folds"):
        TrainConfig(folds=1)


def test_mismatched_splits_are_refused():
    results = {"a": [{"split_digest": "x"}, {"split_digest": "y"}], "b": [{"split_digest": "x"}, {"split_digest": "z"}]}
    with pytest.raises(ConfigError, match="identical splits"):
        check_identical_splits(results)


def test_paired_test_finds_a_consistent_gap_and_states_its_floor():
    better = [0.8, 0.82, 0.79, 0.85, 0.81, 0.83, 0.8, 0.84]
    worse = [0.5, 0.55, 0.52, 0.49, 0.51, 0.5, 0.53, 0.54]
    result = paired_test(better, worse)
    assert result["significant"] and result["p_value"] < 0.01 and result["difference"] > 0.25
    assert result["smallest_possible_p"] == pytest.approx(2 / 2 ** 8)
    small = paired_test(better[:5], worse[:5])
    assert small["p_value"] == pytest.approx(0.0625) and not small["significant"]
    assert paired_test([0.1, 0.2], [0.1, 0.2])["p_value"] == 1.0


@pytest.fixture(scope="module")
def compared(synth_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return compare_models(synth_cache, ["paper", "improved"], out, Protocol(folds=3, epochs=1), jobs=1), out


def test_compare_scores_every_predictor_on_identical_splits(compared):
    report, out = compared
    assert set(report["predictors"]) == {"paper", "improved", "improved (uncalibrated)", "baseline"}
    digests = {}
    for name in ("paper", "improved"):
        folder = next(out.glob(f"{name}-*"))
        digests[name] = [json.loads((folder / f"run-{r}" / "result.json").read_text())["split_digest"] for r in range(3)]
    assert digests["paper"] == digests["improved"] == [s["digest"] for s in report["splits"]]
    song = report["predictors"]["improved"]["song"]
    for dim in ("valence", "arousal"):
        assert set(song[dim]) == {"mae", "rmse", "r", "r2", "ccc", "sd_ratio"}
        assert len(song[dim]["mae"]["runs"]) == 3
    baseline = report["predictors"]["baseline"]["song"]
    assert baseline["valence"]["sd_ratio"]["mean"] == 0.0
    pairs = {(t["model"], t["against"]) for t in report["tests"]}
    assert ("improved", "paper") in pairs and ("paper", "baseline") in pairs
    protocol = json.loads((out / "compare.json").read_text())["protocol"]
    assert protocol["split"] == "grouped"
    assert protocol["dataset"] == "emomusic (synthetic, `moodmap synth --renderer numpy`: wavetable voices)"


def test_compare_resumes_without_retraining(compared, synth_cache, monkeypatch):
    report, out = compared
    import moodmap.research.compare as module

    monkeypatch.setattr(module, "train_run", lambda task: pytest.fail("retrained a finished run"))
    again = compare_models(synth_cache, ["paper", "improved"], out, Protocol(folds=3, epochs=1))
    assert again["predictors"]["paper"] == report["predictors"]["paper"]


def test_compare_cli_writes_json_and_prints_tables(compared, synth_cache, tmp_path):
    _, out = compared
    target = tmp_path / "c.json"
    result = CliRunner().invoke(app, ["compare", str(synth_cache), "--out", str(out), "--folds", "3",
                                      "--epochs", "1", "--json", str(target)])
    assert result.exit_code == 0, result.output
    assert "valence, song level" in result.output and "improved vs paper" in result.output
    assert "smallest possible p 0.2500" in result.output
    assert json.loads(target.read_text())["protocol"]["n"] == 3


def test_compare_rejects_an_unknown_model(synth_cache, tmp_path):
    result = CliRunner().invoke(app, ["compare", str(synth_cache), "--models", "paper,nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown model preset 'nope'" in result.output
