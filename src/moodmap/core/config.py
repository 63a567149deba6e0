"""Frozen configuration dataclasses, their stable hash, TOML files and ``--set`` overrides.

Defaults equal the paper's choices (its §3): 16 kHz mono, 80 mel bands,
librosa-default FFT/hop, 15 s excerpts, three per 45 s clip. Every setting is checked when a
config is made (each class's RULES), so a bad ``--set`` or TOML value is one line naming the key
and what it may be, before any work starts — never a failure of every file later.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .errors import ConfigError, parameter

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")  # a config dataclass: from_dict reads its fields

EXCERPT_ANCHORS = ("start", "center")
FREQUENCY_SCALES = ("mel", "log")  # Slaney mel (the paper's); bands evenly spaced in log frequency
SHORT_POLICIES = ("pad", "reject")
RESAMPLE_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")  # soxr's, from quick to very high
ARCHITECTURES = ("paper_cnn", "moodnet")
FREQUENCY_POOLINGS = ("global", "time")  # moodnet's last pooling: over time and frequency, or over time only

# A rule: the setting, whether a value is allowed (given the whole config), what is allowed (text,
# or a function of the config when it depends on other settings).
Rule = tuple[str, Callable[[Any, Any], bool], "str | Callable[[Any], str]"]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _at_least(low: float) -> Callable[[Any, Any], bool]:
    return lambda value, _config: _finite(value) and value >= low


def _above(low: float) -> Callable[[Any, Any], bool]:
    return lambda value, _config: _finite(value) and value > low


def _optional(allowed: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, config: value is None or allowed(value, config)


def _one_of(options: tuple[str, ...]) -> Callable[[Any, Any], bool]:
    return lambda value, _config: value in options


def _log_bands_fit(c: Any) -> bool:
    """Whether log-spaced bands from fmin can start there: the lowest (narrowest) band, from fmin to two
    edges up, must be wider than the FFT bins are apart, so that it and every wider band holds one."""
    if not (_finite(c.fmin) and c.fmin > 0):
        return False
    top = _nyquist(c) if c.fmax is None else c.fmax
    high = c.fmin * (top / c.fmin) ** (2 / (c.n_mels + 1))
    spacing = c.sample_rate / c.n_fft
    return high - c.fmin > spacing


def _check(config: Any, rules: tuple[Rule, ...]) -> None:
    """Refuse the first setting of ``config`` its rule does not allow, in one line naming the
    key, the value and what is allowed."""
    for key, allowed, says in rules:
        value = getattr(config, key)
        if not allowed(value, config):
            text = says(config) if callable(says) else says
            raise ConfigError(None, f"{key}={value!r} is not allowed: {key} must be {text}")


def _nyquist(config: FeatureConfig) -> float:
    return config.sample_rate / 2.0


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that decides what the log-mel features of a file are.

    ``excerpts`` windows of ``excerpt_seconds`` are cut every ``excerpt_hop_seconds``
    (``None``: back to back) from the file's start, or centred in it (``anchor``).
    The paper's "original" data is ``excerpts=1``; its "augmented" data ``excerpts=3``.
    A file shorter than one excerpt but at least ``min_seconds`` long is zero-padded
    under ``short_policy="pad"`` and rejected under ``"reject"``.
    ``frequency_scale="log"`` spaces the ``n_mels`` bands evenly in log frequency from ``fmin``
    (a semitone apart at every height with 80 bands from 110 Hz) instead of on the mel scale, which
    is linear below 1 kHz; a model keeps the scale it was trained on.
    """

    sample_rate: int = 16000
    n_mels: int = 80
    n_fft: int = 2048
    hop_length: int = 512
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float | None = 80.0
    excerpt_seconds: float = 15.0
    excerpts: int = 3
    excerpt_hop_seconds: float | None = None
    anchor: str = "start"
    short_policy: str = "pad"
    min_seconds: float = 5.0
    tail_tolerance_seconds: float = 1.0
    resample_quality: str = "HQ"
    frequency_scale: str = "mel"

    # Added after caches and models were first stored: left out of config_hash while at its default.
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("frequency_scale",)

    # What each setting feeds decides what it may be: soxr's qualities and rates, an STFT whose
    # centred frames the excerpt length predicts (even n_fft), mel bands within the spectrum.
    RULES: ClassVar[tuple[Rule, ...]] = (
        ("sample_rate", lambda v, c: _finite(v) and 1000 <= v <= 384000, "an integer from 1000 to 384000 (Hz)"),
        ("n_fft", lambda v, c: _finite(v) and v >= 16 and v % 2 == 0, "an even integer >= 16"),
        ("hop_length", _at_least(1), "an integer >= 1"),
        ("n_mels", lambda v, c: _finite(v) and 1 <= v <= 1 + c.n_fft // 2,
         lambda c: f"an integer from 1 to {1 + c.n_fft // 2} (1 + n_fft / 2)"),
        ("fmin", lambda v, c: _finite(v) and 0 <= v < _nyquist(c),
         lambda c: f"a number from 0 to below {_nyquist(c):g} (half the sample rate)"),
        ("fmax", _optional(lambda v, c: _finite(v) and c.fmin < v <= _nyquist(c)),
         lambda c: f"none (half the sample rate) or a number above fmin ({c.fmin:g}) up to {_nyquist(c):g}"),
        ("top_db", _optional(_above(0)), "none (no floor) or a number > 0"),
        ("excerpt_seconds", _above(0), "a number > 0"),
        ("excerpts", _at_least(1), "an integer >= 1"),
        ("excerpt_hop_seconds", _optional(_above(0)), "none (back to back) or a number > 0"),
        ("anchor", _one_of(EXCERPT_ANCHORS), f"one of {', '.join(EXCERPT_ANCHORS)}"),
        ("short_policy", _one_of(SHORT_POLICIES), f"one of {', '.join(SHORT_POLICIES)}"),
        ("min_seconds", _at_least(0), "a number >= 0"),
        ("tail_tolerance_seconds", _at_least(0), "a number >= 0"),
        ("resample_quality", _one_of(RESAMPLE_QUALITIES),
         f"one of {', '.join(RESAMPLE_QUALITIES)} (soxr's resampling qualities)"),
        ("frequency_scale", lambda v, c: v in FREQUENCY_SCALES and (v == "mel" or _log_bands_fit(c)),
         f"one of {', '.join(FREQUENCY_SCALES)} (log: fmin above 0, where its bands start, and its lowest band "
         "wide enough to hold an FFT bin: raise fmin or n_fft, or use fewer bands)"),
    )

    def __post_init__(self) -> None:
        _check(self, self.RULES)

    @property
    def hop_seconds(self) -> float:
        """Seconds between excerpt starts."""
        return self.excerpt_hop_seconds if self.excerpt_hop_seconds is not None else self.excerpt_seconds

    @property
    def excerpt_samples(self) -> int:
        return int(round(self.excerpt_seconds * self.sample_rate))

    @property
    def excerpt_frames(self) -> int:
        """Spectrogram frames of one excerpt (centred STFT): 469 for the paper."""
        return 1 + self.excerpt_samples // self.hop_length


ACTIVATIONS = ("relu", "sigmoid", "tanh", "softsign", "linear", "elu", "selu", "softplus", "hard_sigmoid")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")
LOSSES = ("mae", "mse", "huber", "ccc", "mae+ccc")
SPLITS = ("grouped", "random", "official")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class ModelConfig:
    """The network. Defaults are the paper's final model (§3.8): 16 filters, 3×3 kernel,
    3×3 max-pool, relu / relu / sigmoid, dropout 0.2."""

    architecture: str = "paper_cnn"
    filters: int = 16
    kernel: int = 3
    pool: int = 3
    conv_activation: str = "relu"
    dense_activation: str = "relu"
    output_activation: str = "sigmoid"
    dense_units: int = 8
    dropout: float = 0.2
    frequency_pooling: str = "global"

    # Added after models were first stored: left out of config_hash while at its default.
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("frequency_pooling",)

    RULES: ClassVar[tuple[Rule, ...]] = (
        ("architecture", _one_of(ARCHITECTURES), f"one of {', '.join(ARCHITECTURES)}"),
        *((name, _at_least(1), "an integer >= 1") for name in ("filters", "kernel", "pool", "dense_units")),
        *((name, _one_of(ACTIVATIONS), f"one of {', '.join(ACTIVATIONS)}")
          for name in ("conv_activation", "dense_activation", "output_activation")),
        ("dropout", lambda v, c: _finite(v) and 0.0 <= v < 1.0, "a number in [0, 1)"),
        ("frequency_pooling", lambda v, c: v in FREQUENCY_POOLINGS and (v == "global" or c.architecture == "moodnet"),
         f"one of {', '.join(FREQUENCY_POOLINGS)} (time: architecture moodnet only)"),
    )

    def __post_init__(self) -> None:
        _check(self, self.RULES)


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained: the paper's protocol by default (§2.5).

    ``learning_rate=None`` takes the Keras default of the optimizer; ``excerpts``
    limits training and validation to each song's first n excerpts (the paper's
    "original" data is 1); ``split`` decides how the validation songs are drawn.
    ``recalibrate_batchnorm`` (not the paper's; off by default) re-estimates BatchNorm's
    running statistics on the training set after each epoch, because Keras-style
    running means lag the paper model's fast-moving dense layer and offset every
    evaluation-mode prediction.
    The improved model's options (not the paper's): ``standardize_targets`` trains on
    z-scored targets (predictions are mapped back to 0–1 through the checkpoint);
    ``crop_frames`` trains on a random crop of that many frames of each excerpt, new
    every step; ``spec_augment`` hides a few mel bands and frames per item;
    ``calibrate_spread`` stretches predictions to the training targets' spread after
    training (``moodmap.research.calibration``; the uncalibrated scores are kept beside).
    ``lr_schedule="cosine"`` lowers the learning rate along half a cosine to zero over the
    epochs, so the last epoch — the one scored — is a settled model, not a noisy step.
    ``folds`` turns the grouped split into k-fold cross-validation: the songs are dealt
    once into ``folds`` parts and run ``i`` validates on part ``i``.
    ``tempo_stretch`` (off by default; issue 33) stretches each training excerpt of a synthetic
    song in time by a random factor in [1/v, v] (on the log-mel, pitch kept) and moves its
    arousal target by what the generator's tempo term says that change is worth
    (``moodmap.research.tempo_augment``); songs of unknown tempo (real data) are only cropped.
    """

    optimizer: str = "adam"
    learning_rate: float | None = None
    batch_size: int = 32
    epochs: int = 10
    loss: str = "mae"
    validation_fraction: float = 0.1
    split: str = "grouped"
    excerpts: int | None = None
    seed: int = 0
    recalibrate_batchnorm: bool = False
    standardize_targets: bool = False
    crop_frames: int | None = None
    spec_augment: bool = False
    calibrate_spread: bool = False
    folds: int | None = None
    lr_schedule: str = "constant"
    tempo_stretch: float | None = None

    # Added after results were first stored: left out of config_hash while at their defaults,
    # so existing caches, checkpoints and sweep results keep their keys.
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("standardize_targets", "crop_frames", "spec_augment",
                                                "calibrate_spread", "folds", "lr_schedule", "tempo_stretch")

    RULES: ClassVar[tuple[Rule, ...]] = (
        ("optimizer", _one_of(OPTIMIZERS), f"one of {', '.join(OPTIMIZERS)}"),
        ("learning_rate", _optional(_above(0)), "none (the optimizer's default) or a number > 0"),
        ("batch_size", _at_least(2), "an integer >= 2"),
        ("epochs", _at_least(1), "an integer >= 1"),
        ("loss", _one_of(LOSSES), f"one of {', '.join(LOSSES)}"),
        ("validation_fraction", lambda v, c: _finite(v) and 0.0 < v < 1.0, "a number between 0 and 1"),
        ("split", _one_of(SPLITS), f"one of {', '.join(SPLITS)}"),
        ("excerpts", _optional(_at_least(1)), "none (all of a song's) or an integer >= 1"),
        ("seed", _at_least(0), "an integer >= 0"),
        ("crop_frames", _optional(_at_least(16)), "none (whole excerpts) or an integer >= 16"),
        ("folds", _optional(lambda v, c: v >= 2 and c.split == "grouped"),
         "none or an integer >= 2, with split=grouped"),
        ("lr_schedule", _one_of(LR_SCHEDULES), f"one of {', '.join(LR_SCHEDULES)}"),
        ("tempo_stretch", _optional(lambda v, c: _finite(v) and 1.0 < v <= 2.0),
         "none (off) or the largest stretch factor, a number above 1 and at most 2"),
    )

    def __post_init__(self) -> None:
        _check(self, self.RULES)


def config_dict(config: Any) -> dict[str, Any]:
    """The config as a plain dict (JSON/TOML-ready)."""
    return dataclasses.asdict(config)


def config_hash(config: Any) -> str:
    """A short stable hash of a config's values; keys caches, checkpoints and results."""
    values = config_dict(config)
    for name in getattr(config, "LATER_FIELDS", ()):
        if values[name] == next(f.default for f in dataclasses.fields(config) if f.name == name):
            del values[name]
    payload = json.dumps({"type": type(config).__name__, **values}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def from_dict(cls: type[C], values: dict[str, Any], source: str | None = None) -> C:
    """Build ``cls`` from a dict, rejecting unknown keys, coercing types and checking every value
    (a refusal names ``source``, the file the values came from, when there is one)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(source, f"unknown setting(s) {', '.join(unknown)}; the {SETTING_KINDS[cls.__name__]} "
                                  f"settings are: {', '.join(sorted(names))}")
    hints = typing.get_type_hints(cls)
    coerced = {k: _coerce(hints[k], v, k, source) for k, v in values.items()}
    try:
        return cls(**coerced)
    except ConfigError as exc:
        if source is None or exc.path is not None:
            raise
        raise ConfigError(source, exc.template) from None


SETTING_KINDS = {"FeatureConfig": "feature", "ModelConfig": "model", "TrainConfig": "train"}


def load_toml(cls: type[C], path: str | Path, table: str | None = None) -> C:
    """Read ``cls`` from a TOML file (optionally from one ``[table]`` of it)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path, f"cannot read config: {exc}") from exc
    if table is not None:
        data = data.get(table, {})
    return from_dict(cls, data, str(path))


def with_overrides(config: C, assignments: list[str] | tuple[str, ...]) -> C:
    """Apply ``key=value`` strings (the CLI's ``--set``) to a frozen config."""
    values = config_dict(config)
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(None, f"{parameter('set')} expects key=value, got {item!r}")
        values[key.strip()] = raw.strip()
    return from_dict(type(config), values)


def with_run_overrides(model: "ModelConfig", train: "TrainConfig", assignments: list[str] | tuple[str, ...]
                       ) -> tuple["ModelConfig", "TrainConfig"]:
    """Apply ``key=value`` settings to whichever of the two configs has the key (the CLI's and
    the experiments' ``--set``); a key that neither has is an error naming both sets of keys."""
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    key = lambda item: item.partition("=")[0].strip()  # noqa: E731
    unknown = [a for a in assignments if key(a) not in model_fields | train_fields]
    if unknown:
        raise ConfigError(None, f"unknown setting(s) {', '.join(unknown)}; model: {', '.join(sorted(model_fields))}; "
                                f"train: {', '.join(sorted(train_fields))}")
    return (with_overrides(model, [a for a in assignments if key(a) in model_fields]),
            with_overrides(train, [a for a in assignments if key(a) not in model_fields]))


def _coerce(hint: Any, value: Any, key: str, source: str | None) -> Any:
    """Convert ``value`` (often a string from the command line) to the field's type."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
        if type(None) in options:
            return None
        raise ConfigError(source, f"{key} cannot be empty")
    for option in options:
        if option is type(None):
            continue
        try:
            return _convert(option, value)
        except (TypeError, ValueError):
            continue
    kinds = [KIND_NAMES.get(option, getattr(option, "__name__", str(option))) for option in options]
    raise ConfigError(source, f"{key}={value!r} is not allowed: {key} must be {' or '.join(kinds)}")


KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "text", type(None): "none"}


def _convert(kind: Any, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(value)
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    if kind is float:
        return float(value)
    if kind is str:
        return str(value)
    origin = typing.get_origin(kind)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        (inner, *_rest) = typing.get_args(kind)
        return tuple(_convert(inner, v.strip() if isinstance(v, str) else v) for v in items)
    return kind(value)
