"""The plain librosa log-mel pipeline: the reference ``moodmap.core.features.logmel`` must match
within 0.05 dB (tests/test_features.py). The research side's (librosa comes with
``moodmap[train]``), so that the features a library owner's moodmap computes never import it.
"""
from __future__ import annotations

import librosa
import numpy as np

from ..core.config import FeatureConfig
from ..core.features import AMIN


def logmel_reference(y: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The plain librosa pipeline (melspectrogram + power_to_db), one signal at a time."""
    def one(signal: np.ndarray) -> np.ndarray:
        power = librosa.feature.melspectrogram(
            y=signal, sr=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length,
            n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax)
        return librosa.power_to_db(power, ref=1.0, amin=AMIN, top_db=config.top_db)

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return one(y)
    return np.stack([one(s) for s in y.reshape(-1, y.shape[-1])]).reshape(
        *y.shape[:-1], config.n_mels, 1 + y.shape[-1] // config.hop_length)
