"""Exporting a training run as a named model, with a model card that says what it is and is not."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from ...core import provenance
from ...core.atomic import atomic_write_text
from ...core.config import config_dict, config_hash
from ...core.errors import ModelError
from ...core.provenance import DEMO_NOTE
from ...inference import registry
from ..cache import FeatureCache
from .checkpoint import load_checkpoint, sha256
from .onnx_form import write_onnx
from .paper_cnn import PaperCNN, keras_weight_count

SYNTHETIC_WARNING = ("**Demo weights, trained on synthetic music.** They have learned how moodmap's generator "
                     "maps tempo, density, loudness, brightness, mode, consonance and register to mood; they have "
                     "never heard a labelled recording. Treat their output on real music as a rough guess.")


def export_run(run_dir: str | Path, name: str, folder: Path | None = None) -> Path:
    """Register the run's best last-epoch checkpoint as ``name`` (in ``folder``, default the
    user's models); returns the weights path."""
    registry.valid_name(name)  # before any work: a name that reads as a path could never be found again
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
    record = _provenance(checkpoint, summary)
    synthetic = record["synthetic"]
    card = render_card(name, summary, chosen, checkpoint, sha256(checkpoint_path), record)
    description = (f"{checkpoint.model_config.architecture} trained on {record.get('name') or 'unknown data'}"
                   + (" (synthetic music: demo weights)" if synthetic else ""))
    return register(checkpoint_path, name, description, card, folder, record)


def register(checkpoint_path: Path, name: str, description: str, card: str, folder: Path | None = None,
             record: dict | None = None) -> Path:
    """Copy a checkpoint in as ``name`` with its ONNX form (what prediction runs), its checksum
    entry (and the training data's provenance ``record``) and model card, into ``folder``
    (default: the user's models; a shipped model's name is refused there)."""
    registry.valid_name(name)
    if folder is None:
        folder = registry.user_models()
        if name in registry.available_models(registry.WEIGHTS):
            raise ModelError(None, f"{name!r} is the name of a model shipped with moodmap; choose another name "
                                   "(or --to FOLDER)")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.pt"
    shutil.copyfile(checkpoint_path, target)
    checkpoint = load_checkpoint(target)
    note = DEMO_NOTE if record and record.get("synthetic") else checkpoint.meta.get("note")
    onnx_sha = write_onnx(dataclasses.replace(checkpoint, meta={**checkpoint.meta, "note": note}),
                          folder / f"{name}.onnx")
    entry = {"name": name, "sha256": sha256(target), "onnx_sha256": onnx_sha, "description": description,
             "note": note, "file": target.name, "synthetic": bool(record and record.get("synthetic")),
             "provenance": record}
    atomic_write_text(folder / f"{name}.json", json.dumps(entry, indent=2) + "\n")
    atomic_write_text(folder / f"{name}.md", card)
    registry.forget()
    return target


def _provenance(checkpoint, summary: dict) -> dict:
    """The data set record the run carries (checkpoint, then summary); for runs trained before
    moodmap recorded it, the cache's record, else what the summary's label says."""
    record = checkpoint.meta.get("provenance") or summary.get("protocol", {}).get("provenance")
    if record:
        return provenance.complete(record)
    cache = FeatureCache.open(checkpoint.meta["cache"]) if _cache_exists(checkpoint.meta.get("cache")) else None
    if cache is not None:
        return cache.provenance
    label = summary.get("protocol", {}).get("dataset", "")
    return {"name": label.split(" (")[0], "synthetic": "synthetic" in label, "recorded_by": "the run's summary"}


def _cache_exists(path: str | None) -> bool:
    return bool(path) and (Path(path) / "meta.json").is_file()


def render_card(name: str, summary: dict, chosen: dict, checkpoint, digest: str, record: dict) -> str:
    """MODEL_CARD markdown: data and how to make it again, protocol, metrics beside the baseline,
    intended use, limits."""
    protocol, mean, sd = summary["protocol"], summary["mean"], summary["sd"]
    synthetic, dataset = record["synthetic"], provenance.label(record)
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
        "- Output: valence and arousal on 0–1 (×10 for the 1–9 rating scale).",
        f"- Files: `{name}.pt`, sha256 `{digest}`, loads with `torch.load(weights_only=True)`; `{name}.onnx`, "
        "the same network in its inference form for onnxruntime (what prediction runs; its sha256 is in "
        f"`{name}.json`).",
        "", "## Training data and protocol",
        f"- Data set: {dataset}; "
        f"{protocol['excerpts_per_song']} excerpts per song.",
        *_data_lines(record, checkpoint),
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


def _data_lines(record: dict, checkpoint) -> list[str]:
    """Where the data came from, and the commands that make it and these weights again."""
    synth = record.get("synth") or {}
    lines = [f"- Recorded by {record.get('recorded_by', 'unknown')}"
             + (f" on {record['recorded_at']}" if record.get("recorded_at") else "")
             + (f"; data set folder then: `{record['root']}`" if record.get("root") else "") + "."]
    if synth:
        lines.append(f"- Generated: {synth.get('songs')} songs, seed {synth.get('seed')}, renderer "
                     f"{synth.get('renderer')}, {synth.get('seconds')} s each; `synth.json` sha256 "
                     f"`{synth.get('synth_json_sha256')}`.")
    steps = provenance.recipe(record)
    if steps:
        train = json.dumps(config_dict(checkpoint.train_config)) if checkpoint.train_config else "{}"
        lines.append("- To make them again: " + "; ".join(f"`{step}`" for step in steps)
                     + "; then `moodmap train CACHE` with model settings "
                     f"{json.dumps(config_dict(checkpoint.model_config))} and training settings {train}.")
    return lines


def _options(train_config) -> str:
    """The training choices that are not the paper's, in words."""
    if train_config is None:
        return ""
    words = {"recalibrate_batchnorm": "BatchNorm statistics re-estimated on the training set after each epoch",
             "standardize_targets": "z-scored targets", "crop_frames": "random crops of {} frames",
             "spec_augment": "SpecAugment-style masks", "calibrate_spread": "prediction spread calibrated "
             "to the training targets' after training", "lr_schedule": "{} learning-rate schedule",
             "tempo_stretch": "synthetic songs time-stretched by up to ×{} with their arousal moved to match"}
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
