"""Exporting a training run as a named model, with a model card that says what it is and is not."""
from __future__ import annotations

import json
from pathlib import Path

from ..cache import dataset_label
from ..config import config_hash
from ..datasets.synth import synthetic_source
from ..errors import ModelError
from .checkpoint import load_checkpoint, sha256
from .paper_cnn import PaperCNN, keras_weight_count
from .registry import register

SYNTHETIC_WARNING = ("**Demo weights, trained on synthetic music.** They have learned how moodmap's generator "
                     "maps tempo, density, loudness, brightness, mode, consonance and register to mood; they have "
                     "never heard a labelled recording. Treat their output on real music as a rough guess.")


def export_run(run_dir: str | Path, name: str, folder: Path | None = None) -> Path:
    """Register the run's best last-epoch checkpoint as ``name`` (in ``folder``, default the
    user's models); returns the weights path."""
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        raise ModelError(run_dir, "no summary.json: not a finished `moodmap train` folder")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    chosen = min(summary["runs"], key=lambda r: r["last_val_mae"])
    checkpoint_path = run_dir / f"run-{chosen['run']}" / "last.pt"
    if not checkpoint_path.exists():
        raise ModelError(checkpoint_path, "checkpoint missing")
    checkpoint = load_checkpoint(checkpoint_path)
    meta = _cache_meta(checkpoint.meta.get("cache"))
    root = meta.get("dataset", {}).get("root")
    synthetic = bool(root) and synthetic_source(root) is not None
    dataset = dataset_label(meta) if meta else summary["protocol"]["dataset"]
    card = render_card(name, summary, chosen, checkpoint, sha256(checkpoint_path), synthetic, dataset)
    description = (f"{checkpoint.model_config.architecture} trained on {meta.get('dataset', {}).get('name', dataset)}"
                   + (" (synthetic music: demo weights)" if synthetic else ""))
    return register(checkpoint_path, name, description, card, folder, synthetic)


def _cache_meta(cache_path: str | None) -> dict:
    """The meta.json of the cache a checkpoint was trained from ({} when it is gone)."""
    meta_path = Path(cache_path) / "meta.json" if cache_path else None
    if meta_path is None or not meta_path.exists():
        return {}
    return json.loads(meta_path.read_text(encoding="utf-8"))


def render_card(name: str, summary: dict, chosen: dict, checkpoint, digest: str, synthetic: bool,
                dataset: str) -> str:
    """MODEL_CARD markdown: data, protocol, metrics beside the baseline, intended use, limits."""
    protocol, mean, sd = summary["protocol"], summary["mean"], summary["sd"]
    weights = keras_weight_count(checkpoint.model) if isinstance(checkpoint.model, PaperCNN) else \
        sum(p.numel() for p in checkpoint.model.parameters())
    lines = [f"# Model card — `{name}`", ""]
    if synthetic:
        lines += [SYNTHETIC_WARNING, ""]
    lines += [
        "## What it is",
        f"- Architecture: `{checkpoint.model_config.architecture}` {json.dumps(_short(checkpoint.model_config))}; "
        f"{weights:,} weights.",
        f"- Input: {checkpoint.feature_config.n_mels} × {checkpoint.feature_config.excerpt_frames} log-mel excerpts "
        f"of {checkpoint.feature_config.excerpt_seconds:g} s at {checkpoint.feature_config.sample_rate} Hz "
        f"(feature config {config_hash(checkpoint.feature_config)}); a song is the mean of its excerpts.",
        f"- Output: valence and arousal on 0–1 (×10 for the 1–9 rating scale).",
        f"- File: `{name}.pt`, sha256 `{digest}`; loads with `torch.load(weights_only=True)`.",
        "", "## Training data and protocol",
        f"- Data set: {dataset}; "
        f"{protocol['excerpts_per_song']} excerpts per song.",
        f"- Split: {protocol['split']} ({protocol['validation_fraction']:.0%} of songs held out per run), "
        f"{protocol['runs']} runs × {protocol['epochs']} epochs"
        + _options(checkpoint.train_config)
        + f"; this file is run {chosen['run']}, the run with the "
        "lowest last-epoch validation MAE (a selection on validation: the means below are the fairer figure).",
        "", "## Validation metrics (song level, mean ± sd over runs; baseline = training mean)", "",
        "| | valence model | valence baseline | arousal model | arousal baseline |", "|---|---:|---:|---:|---:|",
    ]
    for label, key in (("MAE", "mae"), ("Pearson r", "r"), ("CCC", "ccc"), ("prediction sd", "pred_sd"),
                       ("target sd", "target_sd")):
        cells = [_pm(mean, sd, f"evaluation.song.{who}.{dim}.{key}") for dim in ("valence", "arousal")
                 for who in ("model", "baseline")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Intended use",
              "Offline mood tags, maps and playlists for a personal music library; a reproducible baseline for "
              "music emotion recognition research.", "",
              "## Limits",
              "- Valence and arousal are perceived, subjective and culture-bound; one number per song hides change "
              "within it (use `--timeline`).",
              "- Compare prediction sd with target sd: the paper's model shrinks predictions toward the middle; "
              "the improved model's spread is calibrated to the training targets'.",
              "- Not for decisions about people."]
    return "\n".join(lines) + "\n"


def _options(train_config) -> str:
    """The training choices that are not the paper's, in words."""
    if train_config is None:
        return ""
    words = {"recalibrate_batchnorm": "BatchNorm statistics re-estimated on the training set after each epoch",
             "standardize_targets": "z-scored targets", "crop_frames": "random crops of {} frames",
             "spec_augment": "SpecAugment-style masks", "calibrate_spread": "prediction spread calibrated "
             "to the training targets' after training", "lr_schedule": "{} learning-rate schedule"}
    default = type(train_config)()
    chosen = [text.format(getattr(train_config, key)) for key, text in words.items()
              if getattr(train_config, key) != getattr(default, key)]
    if train_config.loss != default.loss:
        chosen.insert(0, f"loss {train_config.loss}")
    return f"; not the paper's protocol: {', '.join(chosen)}" if chosen else ""


def _pm(mean: dict, sd: dict, key: str) -> str:
    value = mean.get(key, float("nan"))
    return "–" if value != value else f"{value:.3f} ± {sd.get(key, 0.0):.3f}"


SETTINGS_USED = {"paper_cnn": ("filters", "kernel", "pool", "conv_activation", "dense_activation",
                              "output_activation", "dropout"),
                 "moodnet": ("filters", "dropout")}


def _short(model_config) -> dict:
    """The model settings the architecture actually reads (MoodNet ignores the paper CNN's kernel, pool, …)."""
    keys = SETTINGS_USED.get(model_config.architecture, SETTINGS_USED["paper_cnn"])
    return {k: getattr(model_config, k) for k in keys if hasattr(model_config, k)}
