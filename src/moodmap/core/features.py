"""Log-mel spectrograms: the network's input.

``logmel`` is the fast batched path (float32 FFTs by ducc0 — pocketfft's successor, 5× numpy's
rfft and a tenth of SciPy's install — framed in blocks that stay in cache); it must match the
plain librosa pipeline (``moodmap.research.features_reference``, research side) within 0.05 dB
(tests/test_features.py proves it). It gives (n_mels, frames) per signal, 80 × 469 for a
15 s excerpt at 16 kHz.

Examples
--------
>>> import numpy as np
>>> from moodmap.core.features import logmel
>>> logmel(np.zeros((2, 240000), np.float32) + 0.1).shape
(2, 80, 469)
"""
from __future__ import annotations

from functools import lru_cache
from os import PathLike

import ducc0
import numpy as np

from .audio import Window, load_audio, load_excerpts
from .config import FeatureConfig

AMIN = 1e-10  # librosa.power_to_db's floor
FRAME_BLOCK = 128  # frames per FFT block: small enough to stay in cache (measured best)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    """Slaney-style mel filterbank (n_mels, 1 + n_fft // 2), equal to ``librosa.filters.mel``.

    Triangles on the Slaney mel scale (linear below 1 kHz, logarithmic above), each
    area-normalised. Built here so worker processes need not import librosa (~1 s each).
    """
    fmax = sample_rate / 2.0 if fmax is None else fmax
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    return _triangles(sample_rate, n_fft, edges)


@lru_cache(maxsize=8)
def log_filterbank(sample_rate: int, n_fft: int, n_bands: int, fmin: float, fmax: float | None) -> np.ndarray:
    """Triangular filterbank (n_bands, 1 + n_fft // 2) with band edges evenly spaced in log frequency
    from ``fmin`` to ``fmax``, each area-normalised as the mel bands are.

    Mel bands are linear below 1 kHz (37 Hz apart at 80 bands over 8 kHz: two semitones at middle C),
    so the thirds that tell major from minor in a chord are not resolved there; log bands keep the
    same spacing in pitch at every height (80 bands from 110 Hz to 8 kHz: about a semitone).
    """
    fmax = sample_rate / 2.0 if fmax is None else fmax
    edges = np.geomspace(fmin, fmax, n_bands + 2)
    weights = _triangles(sample_rate, n_fft, edges)
    empty = np.flatnonzero(weights.sum(axis=1) == 0)
    if empty.size:
        raise ValueError(f"log bands from {fmin:g} Hz: band {empty[0]} ({edges[empty[0] + 1]:.1f} Hz) holds no FFT bin "
                         f"(bins are {sample_rate / n_fft:.1f} Hz apart); raise fmin or n_fft, or use fewer bands")
    return weights


def _triangles(sample_rate: int, n_fft: int, edges: np.ndarray) -> np.ndarray:
    """Area-normalised triangles over the FFT's bins, band i rising from edges[i] to edges[i+1] and
    falling to edges[i+2]."""
    bins = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return np.ascontiguousarray(weights.astype(np.float32))


def filterbank(config: FeatureConfig) -> np.ndarray:
    """The config's filterbank: mel (the paper's) or log-frequency bands."""
    build = log_filterbank if config.frequency_scale == "log" else mel_filterbank
    return build(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax)


_F_SP = 200.0 / 3  # Hz per mel below the break
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    return hz / _F_SP if hz < _MIN_LOG_HZ else _MIN_LOG_MEL + np.log(hz / _MIN_LOG_HZ) / _LOG_STEP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    return np.where(mels < _MIN_LOG_MEL, _F_SP * mels, _MIN_LOG_HZ * np.exp(_LOG_STEP * (mels - _MIN_LOG_MEL)))


@lru_cache(maxsize=8)
def _hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window (scipy's ``get_window('hann', n, fftbins=True)``)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def mel_power(y: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Mel power spectrogram of the last axis of ``y``: (..., n_mels, frames), float32.

    Centred STFT with zero padding, periodic Hann window, |X|² projected on the mel
    filterbank — librosa.feature.melspectrogram's defaults.
    """
    y = np.asarray(y, dtype=np.float32)
    lead, n = y.shape[:-1], y.shape[-1]
    flat = y.reshape(-1, n)
    pad = config.n_fft // 2
    padded = np.pad(flat, ((0, 0), (pad, pad)))
    frames = 1 + n // config.hop_length
    basis_t = filterbank(config).T
    window = _hann(config.n_fft)
    view = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft, axis=-1)[:, ::config.hop_length]
    out = np.empty((flat.shape[0], frames, config.n_mels), dtype=np.float32)
    for first in range(0, frames, FRAME_BLOCK):
        block = view[:, first:first + FRAME_BLOCK] * window
        spec = ducc0.fft.r2c(block, axes=(block.ndim - 1,))
        power = spec.real ** 2 + spec.imag ** 2
        out[:, first:first + FRAME_BLOCK] = power @ basis_t
    return np.ascontiguousarray(out.transpose(0, 2, 1)).reshape(*lead, config.n_mels, frames)


def power_to_db(power: np.ndarray, top_db: float | None = 80.0) -> np.ndarray:
    """10·log10 of power (ref 1.0, floor 1e-10), clipped ``top_db`` below each item's peak.

    Each (n_mels, frames) item gets its own peak, as if power_to_db were called on it alone.
    """
    db = 10.0 * np.log10(np.maximum(power, np.float32(AMIN)))
    if top_db is not None:
        peak = db.max(axis=(-2, -1), keepdims=True)
        db = np.maximum(db, peak - np.float32(top_db))
    return db.astype(np.float32, copy=False)


def logmel(y: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Log-mel (dB) spectrogram of each signal in ``y`` (..., samples) → (..., n_mels, frames).

    Parameters
    ----------
    y : float array, mono audio at ``config.sample_rate``; leading axes are a batch
    config : the feature parameters (paper defaults)

    Returns
    -------
    float32 array (..., n_mels, 1 + samples // hop_length)
    """
    return power_to_db(mel_power(y, config), config.top_db)


def excerpt_logmel(path: str | PathLike, config: FeatureConfig = FeatureConfig()) -> tuple[np.ndarray, list[Window]]:
    """Log-mel of a file's excerpt windows: (n, n_mels, frames) and the windows (the paper's input)."""
    excerpts, windows = load_excerpts(path, config)
    return logmel(excerpts, config), windows


def track_logmel(path: str | PathLike, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Log-mel of a whole file (n_mels, frames): for timelines and full-track analysis."""
    return logmel(load_audio(path, config.sample_rate, quality=config.resample_quality), config)
