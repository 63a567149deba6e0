"""Valence and arousal of audio files: the path every user-facing feature goes through.

A song's mood is the mean of its excerpt predictions. For tagging, the excerpts are
the model's own (three 15 s windows for the paper model) taken from the *middle* of
the track, where intros and fade-outs do not dominate. With ``timeline=True`` a 15 s
window also slides over the whole track every ``hop`` seconds.

Examples
--------
>>> from moodmap.inference.predict import Prediction
>>> Prediction.fields()[:4]
['path', 'valence', 'arousal', 'valence_9']
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np

from ..core.audio import normalised_blocks
from ..core.config import FeatureConfig
from ..core.errors import AudioError, CancelledError, Failure, MoodmapError
from ..core.features import excerpt_logmel, logmel
from ..core.mood import describe
from .predictor import Predictor
from .registry import DEFAULT_MODEL, ResolvedModel, resolve

if TYPE_CHECKING:
    from ..research.models.checkpoint import Checkpoint


@dataclass(frozen=True)
class TimelinePoint:
    start: float  # seconds
    valence: float
    arousal: float
    clipped: bool = False  # the model went past the 1–9 rating scale here; the value is held at its end


@dataclass(frozen=True)
class Prediction:
    """Where one file sits on the plane (0–1 scale; ``*_9`` on the data sets' 1–9 ratings)."""

    path: str
    valence: float
    arousal: float
    valence_9: float
    arousal_9: float
    valence_spread: float  # sd over the excerpts
    arousal_spread: float
    quadrant: str | None
    emotion: str
    excerpts: int
    model: str
    note: str | None = None  # what must be said about the model's weights (demo weights), if anything
    timeline: tuple[TimelinePoint, ...] = field(default=())

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["timeline"] = [dataclasses.asdict(p) for p in self.timeline]
        return data


def tagging_config(config: FeatureConfig) -> FeatureConfig:
    """The model's excerpt layout, centred in the track instead of starting at 0 s."""
    return dataclasses.replace(config, anchor="center")


def predict_file(path: str | PathLike, model: Predictor | Checkpoint, name: str = "", timeline: bool = False,
                 hop: float = 5.0, wanted: Callable[[], bool] | None = None,
                 limit: float | None = None) -> Prediction:
    """Predict one file with ``model`` (``resolve(...).predictor``); raises AudioError (with the
    file and reason) when it cannot be read.

    ``wanted`` is asked between pieces of a timeline; when it says no, the work stops with a
    CancelledError (a server's client has gone: its worker is free for the next one). ``limit``:
    the most seconds a timeline may decode (TooLongError past them, whatever the header says)."""
    model = as_predictor(model)
    config = tagging_config(model.feature_config)
    features, _ = excerpt_logmel(path, config)
    per_excerpt = _predict(model, features)
    valence, arousal = (float(x) for x in per_excerpt.mean(axis=0))
    mood = describe(valence, arousal)
    points = track_timeline(path, model, hop, wanted, limit) if timeline else ()
    return Prediction(str(path), valence, arousal, 10 * valence, 10 * arousal,
                      float(per_excerpt[:, 0].std()), float(per_excerpt[:, 1].std()), mood.quadrant, mood.emotion,
                      len(per_excerpt), name, model.meta.get("note"), tuple(points))


TIMELINE_BATCH = 8  # windows turned into features at once: each needs ~5 MB on the way (its STFT)


def track_timeline(path: str | PathLike, model: Predictor | Checkpoint, hop: float = 5.0,
                   wanted: Callable[[], bool] | None = None, limit: float | None = None) -> list[TimelinePoint]:
    """A 15 s window every ``hop`` seconds over the whole track (peak-normalised as one).

    The track streams through in blocks, so a two-hour mix takes the memory of a few
    windows, not of two hours of audio. ``wanted``, ``limit``: see ``predict_file``."""
    model = as_predictor(model)
    config = model.feature_config
    length, step = config.excerpt_samples, max(1, int(round(hop * config.sample_rate)))
    buffer, offset, start = np.zeros(0, np.float32), 0, 0  # buffer[0] is sample ``offset`` of the track
    batch: list[tuple[int, np.ndarray]] = []
    points: list[TimelinePoint] = []
    for block in normalised_blocks(path, config.sample_rate, config.resample_quality, limit):
        buffer = np.concatenate([buffer, block])
        while start + length <= offset + len(buffer):  # every window wholly inside the track
            batch.append((start, buffer[start - offset:start - offset + length]))
            start += step
            if len(batch) == TIMELINE_BATCH:
                if wanted is not None and not wanted():
                    raise CancelledError(path, "stopped: the result is no longer wanted")
                points += _timeline_points(model, batch)
                batch = []
        drop = min(start - offset, len(buffer))
        buffer, offset = buffer[drop:], offset + drop
    if not points and not batch:  # a track shorter than one window: one window, zero-padded
        batch.append((0, np.pad(buffer, (0, max(0, length - len(buffer))))[:length]))
    return points + _timeline_points(model, batch) if batch else points


def _timeline_points(model: Predictor, batch: list[tuple[int, np.ndarray]]) -> list[TimelinePoint]:
    windows = np.stack([window for _, window in batch])
    values, clipped = _held(model.predict(logmel(windows, model.feature_config)).astype(np.float64))
    rate = model.feature_config.sample_rate
    return [TimelinePoint(start / rate, float(v), float(a), bool(c))
            for (start, _), (v, a), c in zip(batch, values, clipped)]


def predict(paths: Iterable[str | PathLike], model=DEFAULT_MODEL, timeline: bool = False,
            hop: float = 5.0, as_frame: bool = False):
    """Predict many files: a list of ``Prediction`` (and ``errors.Failure`` for unreadable files).

    Parameters
    ----------
    paths : audio files
    model : a registered model name, an .onnx path (or a registered model's .pt), a Predictor, a
        ``ResolvedModel`` from ``moodmap.inference.registry.resolve``, or a Checkpoint loaded on the
        research side (``moodmap.research.models.checkpoint.load_model``: it runs on torch)
    timeline : also slide a window over each whole track
    hop : seconds between timeline windows
    as_frame : return a pandas DataFrame (one row per file) instead
    """
    predictor, name = _model_for_prediction(model)
    results: list[Prediction | Failure] = []
    for path in paths:
        try:
            results.append(predict_file(path, predictor, name, timeline, hop))
        except AudioError as exc:
            results.append(Failure.of(path, exc))
    if not as_frame:
        return results
    try:
        import pandas as pd
    except ImportError:
        raise MoodmapError(None, "as_frame=True needs pandas: pip install 'moodmap[frame]'") from None
    return pd.DataFrame([r.as_dict() if isinstance(r, Prediction) else dataclasses.asdict(r) for r in results])


def _model_for_prediction(model) -> tuple[Predictor, str]:
    """The model to predict with and the name predictions carry, from whatever the caller has."""
    if isinstance(model, (str, PathLike)):
        model = resolve(model)
    if isinstance(model, ResolvedModel):
        return model.predictor, model.name
    return as_predictor(model), "custom"


def as_predictor(model) -> Predictor:
    """A Predictor as it is; anything else that can make one — a torch ``Checkpoint`` a caller
    loaded (``moodmap[train]``) — asked for it, so that this side never imports torch."""
    if isinstance(model, Predictor):
        return model
    if isinstance(model, ResolvedModel):
        return model.predictor
    if callable(getattr(model, "to_predictor", None)):
        return model.to_predictor()
    raise MoodmapError(None, f"cannot predict with a {type(model).__name__}: give a registered model's name, a model "
                             "file, a Predictor or a checkpoint")


RATING_RANGE = (0.1, 0.9)  # the data sets' 1–9 ratings on the 0–1 scale


def _predict(model: Predictor, features: np.ndarray) -> np.ndarray:
    """Excerpt predictions, held inside the rating scale: a linear output head (the improved
    model) can overshoot it, and a valence of 9.4 on a 1–9 scale means nothing to a user."""
    return _held(model.predict(features).astype(np.float64))[0]


def _held(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs held inside the 1–9 rating scale, and which rows had to be (the paper CNN's sigmoid
    was seen at 0.998 on windows of real recordings: a rating of 9.98 that no annotator gives)."""
    values = np.clip(raw, *RATING_RANGE)
    return values, (values != raw).any(axis=1)
