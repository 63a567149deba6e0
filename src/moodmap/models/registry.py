"""Models as files: named, checksummed weights shipped in ``moodmap/weights/``, or any checkpoint path.

Each named model is ``<name>.pt`` (a safe checkpoint) beside ``<name>.json`` (its sha256
and a one-line description) and ``<name>.md`` (its model card). ``export_run`` turns a
training run into such a trio.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from functools import lru_cache
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import ModelError
from .checkpoint import Checkpoint, load_checkpoint, sha256

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def available_models(folder: Path = WEIGHTS) -> dict[str, dict]:
    """Registered models: name → their JSON entry (sha256, description, …)."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def load_model(name_or_path: str | Path, folder: Path = WEIGHTS) -> Checkpoint:
    """A checkpoint by registered name (sha256-checked) or by file path."""
    path = Path(name_or_path)
    if path.suffix == ".pt" or path.exists():
        return load_checkpoint(path)
    return _load_named(str(name_or_path), folder)


@lru_cache(maxsize=4)
def _load_named(name: str, folder: Path) -> Checkpoint:
    models = available_models(folder)
    if name not in models:
        known = ", ".join(models) or "none shipped"
        raise ModelError(None, f"unknown model {name!r} (registered: {known}); or give a .pt file")
    return load_checkpoint(folder / f"{name}.pt", expected_sha256=models[name]["sha256"])


@lru_cache(maxsize=4)
def shared_model(name_or_path: str) -> Checkpoint:
    """``load_model`` for prediction, loaded once per process: what long-lived workers use
    (the network in its fastest inference form; never save or train this one)."""
    return inference_form(load_model(name_or_path))


def inference_form(checkpoint: Checkpoint) -> Checkpoint:
    """The checkpoint with its network in its fastest inference form (MoodNet: BatchNorm folded
    into the convolutions); the same predictions. Never save or train the result."""
    fused = getattr(checkpoint.model, "fused", None)
    return dataclasses.replace(checkpoint, model=fused()) if fused else checkpoint


def model_card_path(name: str, folder: Path = WEIGHTS) -> Path:
    return folder / f"{name}.md"


DEMO_NOTE = "demo weights, trained on synthetic music"


def model_note(name: str, folder: Path = WEIGHTS) -> str | None:
    """What every output of a registered model must say about it (demo weights), if anything."""
    entry = available_models(folder).get(name, {})
    return DEMO_NOTE if entry.get("synthetic") else None


def register(checkpoint_path: Path, name: str, description: str, card: str, folder: Path = WEIGHTS,
             synthetic: bool = False) -> Path:
    """Copy a checkpoint in as ``name`` with its checksum entry and model card."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.pt"
    shutil.copyfile(checkpoint_path, target)
    entry = {"name": name, "sha256": sha256(target), "description": description, "file": target.name,
             "synthetic": synthetic}
    atomic_write_text(folder / f"{name}.json", json.dumps(entry, indent=2) + "\n")
    atomic_write_text(folder / f"{name}.md", card)
    _load_named.cache_clear()
    return target
