"""The paper's CNN learns the synthetic set: it beats the constant baseline on a grouped split.

Slow (about two minutes on two cores): run by `make test-slow` and by CI.
The paper's model is jumpy at its last epoch: BatchNorm's running statistics lag the
fast-moving dense layer, so last-epoch predictions can be offset although they correlate
well. Under the paper's own protocol whether the median run's valence MAE beats the
baseline therefore hangs on float noise: on this set (744 songs, seed 2019), after the FFT
moved from SciPy to ducc0 (log-mels within 3e-6 dB), 5 runs gave valence MAE 0.088–0.128
against baselines 0.113–0.126 (median 0.1164 vs 0.1149) at r 0.55–0.75. So the model is
trained as the shipped paper weights are, with BatchNorm statistics re-estimated after each
epoch (`recalibrate_batchnorm`), which removes the lag (3 runs: valence 0.082–0.101 vs
0.113–0.126); the claims are on the median of two runs (their mean), one per core, so the test's
wall time is one run's: every one of those three runs beat its baseline, so two still guard learning.
"""
import numpy as np
import pytest

from moodmap.research.cache import prepare_cache
from moodmap.core.config import ModelConfig, TrainConfig
from moodmap.research.datasets import load_emomusic
from moodmap.research.datasets.synth import SynthSpec, write_synth_dataset
from moodmap.research.train import train_runs

pytestmark = pytest.mark.slow


def test_paper_model_beats_the_baseline_on_synthetic_music(tmp_path):
    write_synth_dataset(tmp_path / "set", SynthSpec(songs=744, seed=2019))
    cache = prepare_cache(load_emomusic(tmp_path / "set"), tmp_path / "cache").cache
    train = TrainConfig(split="grouped", recalibrate_batchnorm=True)
    summary = train_runs(cache, ModelConfig(), train, runs=2, out=tmp_path / "run", jobs=2)
    runs = summary["runs"]

    def median(path):
        values = []
        for run in runs:
            node = run
            for key in path.split("."):
                node = node[key]
            values.append(node)
        return float(np.median(values))

    print({k: round(v, 4) for k, v in summary["mean"].items() if k.startswith("evaluation.song")})
    for dim in ("valence", "arousal"):
        assert median(f"evaluation.song.model.{dim}.mae") < median(f"evaluation.song.baseline.{dim}.mae")
        assert median(f"evaluation.song.model.{dim}.r") > 0.4
    assert median("evaluation.song.model.arousal.ccc") > 0.5
    assert median("last_val_mae") < median("evaluation.excerpt.baseline.mean_mae")
