import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk

from moodmap.research.metrics import ccc, evaluate, evaluate_levels, mae, pearson, quadrant_accuracy, r2, rmse, song_means


@pytest.fixture
def vectors():
    rng = np.random.default_rng(4)
    true = rng.uniform(0.1, 0.9, (200, 2))
    pred = 0.5 * true + rng.normal(0.25, 0.05, (200, 2))
    return pred, true


def test_error_metrics_match_sklearn(vectors):
    pred, true = vectors
    for i in range(2):
        assert mae(pred, true)[i] == pytest.approx(sk.mean_absolute_error(true[:, i], pred[:, i]))
        assert rmse(pred, true)[i] == pytest.approx(np.sqrt(sk.mean_squared_error(true[:, i], pred[:, i])))
        assert r2(pred, true)[i] == pytest.approx(sk.r2_score(true[:, i], pred[:, i]))


def test_pearson_matches_scipy(vectors):
    pred, true = vectors
    for i in range(2):
        assert pearson(pred, true)[i] == pytest.approx(stats.pearsonr(pred[:, i], true[:, i])[0])


def test_ccc_matches_its_definition(vectors):
    pred, true = vectors
    for i in range(2):
        p, t = pred[:, i], true[:, i]
        r = stats.pearsonr(p, t)[0]
        expected = 2 * r * p.std() * t.std() / (p.var() + t.var() + (p.mean() - t.mean()) ** 2)
        assert ccc(pred, true)[i] == pytest.approx(expected)


def test_ccc_punishes_shrinkage_that_r_forgives():
    true = np.linspace(0.1, 0.9, 50)[:, None].repeat(2, 1)
    shrunk = 0.5 + 0.3 * (true - 0.5)
    assert pearson(shrunk, true)[0] == pytest.approx(1.0)
    assert ccc(shrunk, true)[0] < 0.7


def test_constant_predictor_has_no_r_and_zero_ccc():
    true = np.random.default_rng(0).uniform(size=(30, 2))
    constant = np.full_like(true, 0.5)
    assert np.isnan(pearson(constant, true)).all()
    assert ccc(constant, true) == pytest.approx([0.0, 0.0])


def test_quadrant_accuracy():
    true = np.array([[0.7, 0.7], [0.3, 0.7], [0.3, 0.3], [0.7, 0.3]])
    assert quadrant_accuracy(true, true) == 1.0
    assert quadrant_accuracy(true[[1, 0, 3, 2]], true) == 0.0


def test_baseline_is_the_given_training_mean(vectors):
    pred, true = vectors
    train_mean = np.array([0.3, 0.6])
    ev = evaluate(pred, true, train_mean)
    assert ev.baseline.valence.mae == pytest.approx(np.abs(true[:, 0] - 0.3).mean())
    assert ev.baseline.arousal.mae == pytest.approx(np.abs(true[:, 1] - 0.6).mean())
    assert ev.baseline.valence.pred_sd == 0.0 and ev.model.valence.target_sd == pytest.approx(true[:, 0].std())


def test_song_level_averages_excerpts():
    ids = np.array(["a", "a", "b", "b", "b"])
    values = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.5], [0.6, 0.6], [0.7, 0.7]])
    songs, means = song_means(values, ids)
    assert list(songs) == ["a", "b"]
    np.testing.assert_allclose(means, [[0.2, 0.3], [0.6, 0.6]])
    levels = evaluate_levels(values, values, ids, np.array([0.5, 0.5]))
    assert levels["song"].model.n == 2 and levels["excerpt"].model.n == 5
