import json

import numpy as np
import pytest
import torch

from moodmap.research.cache import FeatureCache
from moodmap.core.config import FeatureConfig, ModelConfig, TrainConfig
from moodmap.core.errors import CacheError, ModelError
from moodmap.research.models.checkpoint import Checkpoint, load_checkpoint, save_checkpoint, sha256
from moodmap.research.models.paper_cnn import PaperCNN
from moodmap.research.train import RunTask, evaluate_checkpoint, make_split, train_run, train_runs, usable_rows

SMALL = ModelConfig(filters=4)
QUICK = TrainConfig(epochs=2, batch_size=8)


def fake_cache(songs: int = 60, excerpts: int = 3, official: bool = True) -> FeatureCache:
    """A cache-shaped object with no features: enough to test splits."""
    ids = np.repeat([f"s{i}" for i in range(songs)], excerpts)
    split = np.where(np.repeat(np.arange(songs) % 6 == 0, excerpts), "test", "train") if official else np.full(len(ids), "")
    return FeatureCache(path=None, config=FeatureConfig(), meta={}, features=np.zeros((len(ids), 1, 1)),
                        song_ids=ids, excerpt=np.tile(np.arange(excerpts), songs), start=np.zeros(len(ids)),
                        targets=np.zeros((len(ids), 2), np.float32), target_sd=np.zeros((len(ids), 2)),
                        split=split, group=ids.copy(), audio_path=ids.copy())


def songs_of(cache, rows):
    return set(cache.song_ids[rows])


def test_grouped_split_keeps_song_excerpts_together():
    cache = fake_cache()
    for run in range(20):
        split = make_split(cache, TrainConfig(split="grouped"), run)
        assert not songs_of(cache, split.train) & songs_of(cache, split.validation)
        assert len(songs_of(cache, split.validation)) == 6
        assert len(split.train) + len(split.validation) == len(cache)


def test_random_split_is_the_papers_and_leaks():
    cache = fake_cache()
    leaks = [songs_of(cache, s.train) & songs_of(cache, s.validation)
             for s in (make_split(cache, TrainConfig(split="random"), run) for run in range(5))]
    assert any(leaks)
    assert len(make_split(cache, TrainConfig(split="random"), 0).validation) == 18


def test_groups_bigger_than_songs_stay_together():
    cache = fake_cache()
    cache.group = np.array([f"album{int(s[1:]) // 4}" for s in cache.song_ids])
    split = make_split(cache, TrainConfig(split="grouped"), 3)
    assert not set(cache.group[split.train]) & set(cache.group[split.validation])


def test_each_run_draws_a_fresh_split_reproducibly():
    cache = fake_cache()
    a, b = make_split(cache, TrainConfig(), 0), make_split(cache, TrainConfig(), 1)
    assert songs_of(cache, a.validation) != songs_of(cache, b.validation)
    np.testing.assert_array_equal(a.validation, make_split(cache, TrainConfig(), 0).validation)


def test_official_split_uses_the_data_sets_own():
    cache = fake_cache()
    split = make_split(cache, TrainConfig(split="official"), 0)
    assert set(cache.split[split.validation]) == {"test"} and set(cache.split[split.train]) == {"train"}
    with pytest.raises(CacheError, match="official"):
        make_split(fake_cache(official=False), TrainConfig(split="official"), 0)


def test_original_data_uses_the_first_excerpt_only():
    cache = fake_cache()
    rows = usable_rows(cache, 1)
    assert len(rows) == 60 and set(cache.excerpt[rows]) == {0}


def test_training_is_deterministic_for_a_seed(synth_cache, tmp_path):
    task = lambda out: RunTask(str(synth_cache), SMALL, QUICK, 0, str(tmp_path / out), 1)  # noqa: E731
    a, b = train_run(task("a")), train_run(task("b"))
    assert json.dumps(a["evaluation"]) == json.dumps(b["evaluation"]) and a["last_val_mae"] == b["last_val_mae"]
    assert (tmp_path / "a" / "metrics.csv").read_text().count("\n") == 3


def test_baseline_is_the_training_mean_applied_to_validation(synth_cache, tmp_path):
    result = train_run(RunTask(str(synth_cache), SMALL, QUICK, 1, str(tmp_path / "r"), 1))
    cache = FeatureCache.open(synth_cache)
    split = make_split(cache, QUICK, 1)
    expected = cache.targets[split.train].mean(axis=0)
    assert result["evaluation"]["excerpt"]["baseline_mean"] == pytest.approx(expected.tolist())
    errors = np.abs(cache.targets[split.validation] - expected).mean(axis=0)
    assert result["evaluation"]["excerpt"]["baseline"]["valence"]["mae"] == pytest.approx(errors[0])


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = PaperCNN(SMALL).eval()
    digest = save_checkpoint(tmp_path / "m.pt", Checkpoint(model, SMALL, FeatureConfig(), QUICK,
                                                            train_mean=(0.4, 0.6), meta={"validation_songs": ["1"]}))
    loaded = load_checkpoint(tmp_path / "m.pt", expected_sha256=digest)
    x = torch.randn(2, 80, 469)
    torch.testing.assert_close(loaded.model(x), model(x))
    assert loaded.train_mean == (0.4, 0.6) and loaded.train_config == QUICK and loaded.meta["validation_songs"] == ["1"]
    assert digest == sha256(tmp_path / "m.pt")


def test_checkpoint_refuses_pickled_objects_and_garbage(tmp_path):
    torch.save({"format": "moodmap-checkpoint", "evil": object()}, tmp_path / "evil.pt")
    with pytest.raises(ModelError, match="evil.pt"):
        load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(ModelError, match="sha256"):
        save_checkpoint(tmp_path / "ok.pt", Checkpoint(PaperCNN(SMALL), SMALL, FeatureConfig()))
        load_checkpoint(tmp_path / "ok.pt", expected_sha256="0" * 64)


def test_runs_resume_and_summarise(synth_cache, tmp_path):
    summary = train_runs(synth_cache, SMALL, QUICK, 2, tmp_path / "run")
    assert summary["protocol"]["runs"] == 2 and summary["protocol"]["split"] == "grouped"
    assert "evaluation.song.baseline.arousal.mae" in summary["mean"]
    stamp = (tmp_path / "run" / "run-0" / "result.json").stat().st_mtime_ns
    again = train_runs(synth_cache, SMALL, QUICK, 3, tmp_path / "run")
    assert (tmp_path / "run" / "run-0" / "result.json").stat().st_mtime_ns == stamp
    assert again["protocol"]["runs"] == 3
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["protocol"]["runs"] == 3


def test_evaluate_checkpoint_on_its_own_validation_songs(synth_cache, tmp_path):
    result = train_run(RunTask(str(synth_cache), SMALL, QUICK, 0, str(tmp_path / "r"), 1))
    report = evaluate_checkpoint(tmp_path / "r" / "last.pt", synth_cache, "validation")
    assert report["n_rows"] == result["validation_rows"]
    assert report["evaluation"]["excerpt"]["model"]["valence"]["mae"] == pytest.approx(
        result["evaluation"]["excerpt"]["model"]["valence"]["mae"], abs=1e-6)
    assert evaluate_checkpoint(tmp_path / "r" / "last.pt", synth_cache, "all")["n_rows"] == 36


def test_batchnorm_recalibration_uses_the_exact_training_statistics():
    from moodmap.research.train import recalibrate_batchnorm

    torch.manual_seed(0)
    model = PaperCNN(SMALL, (20, 60))
    x = torch.randn(40, 20, 60) * 30 - 40
    recalibrate_batchnorm(model, x, batch_size=20)
    with torch.no_grad():
        hidden = model.dense_act(model.dense(torch.flatten(
            model.conv_act(model.pool(model.conv(x.unsqueeze(1)))).permute(0, 2, 3, 1), 1)))
    torch.testing.assert_close(model.norm.running_mean, hidden.mean(0), rtol=1e-4, atol=1e-3)
    assert not model.training and model.norm.momentum == 0.01


def _learning_rates(folder) -> list[float]:
    import csv

    with open(folder / "metrics.csv", newline="") as handle:
        return [float(row["learning_rate"]) for row in csv.DictReader(handle)]


def test_cosine_schedule_settles_the_scored_last_epoch(synth_cache, tmp_path):
    constant = TrainConfig(epochs=3, batch_size=8)
    cosine = TrainConfig(epochs=3, batch_size=8, lr_schedule="cosine")
    for name, config in (("constant", constant), ("cosine", cosine)):
        train_run(RunTask(str(synth_cache), SMALL, config, 0, str(tmp_path / name), 1, checkpoints=False))
    assert _learning_rates(tmp_path / "constant") == pytest.approx([0.001] * 3)
    assert _learning_rates(tmp_path / "cosine") == pytest.approx([0.001, 0.00075, 0.00025])
    with pytest.raises(Exception, match="lr_schedule"):
        TrainConfig(lr_schedule="step")
