"""Models as files: named, checksummed weights, or any checkpoint path.

Named models live in two folders: the ones shipped inside the package (``moodmap/weights/``)
and the user's own (``moodmap export``'s default: ``$MOODMAP_MODELS``, else
``$XDG_DATA_HOME/moodmap/models``, i.e. ``~/.local/share/moodmap/models``), so exporting
never writes into an installed package and a reinstall never loses a user's model. A
shipped name cannot be taken by a user's model. Each named model is ``<name>.pt`` (a safe
checkpoint) beside ``<name>.json`` (its sha256 and a one-line description) and
``<name>.md`` (its model card). ``export_run`` turns a training run into such a trio.

``resolve`` is the one way to get a model to predict with.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .. import provenance
from ..atomic import atomic_write_text
from ..checksums import sha256
from ..errors import ModelError
from ..provenance import DEMO_NOTE

if TYPE_CHECKING:
    from .checkpoint import Checkpoint
    from .predictor import Predictor

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
MODEL_SUFFIXES = (".onnx", ".pt")


def is_model_path(name_or_path: str | os.PathLike) -> bool:
    """Whether a model argument is a path: only when it looks like one (a path separator, or a
    model suffix). Anything else is a registered name, whatever the working directory holds: a
    folder called ``improved`` next to a user's songs must not replace the model ``improved``."""
    text = os.fspath(name_or_path)
    separators = {os.sep, os.altsep or os.sep, "/"}
    return any(s in text for s in separators) or text.lower().endswith(MODEL_SUFFIXES)


def user_models() -> Path:
    """The folder of the user's own named models (``moodmap export``'s default)."""
    if os.environ.get("MOODMAP_MODELS"):
        return Path(os.environ["MOODMAP_MODELS"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "moodmap" / "models"


def _folders(folder: Path | None) -> tuple[Path, ...]:
    return (folder,) if folder is not None else (WEIGHTS, user_models())


def available_models(folder: Path | None = None) -> dict[str, dict]:
    """Registered models: name → their JSON entry (sha256, description, …, and ``folder``).

    Without ``folder``: the shipped models, then the user's (a shipped name always wins)."""
    return _models(_folders(folder))


def _models(folders: tuple[Path, ...]) -> dict[str, dict]:
    models: dict[str, dict] = {}
    for place in folders:  # the first folder that has a name wins
        for entry in sorted(place.glob("*.json")) if place.is_dir() else ():
            models.setdefault(entry.stem, {**json.loads(entry.read_text(encoding="utf-8")), "folder": str(place)})
    return models


def load_model(name_or_path: str | Path, folder: Path | None = None) -> Checkpoint:
    """A checkpoint by registered name (sha256-checked) or by file path, as trained (for
    evaluating or exporting; to predict, ``resolve``)."""
    if is_model_path(name_or_path):
        return _load_checkpoint(_model_file(name_or_path))
    return _load_named(str(name_or_path), _folders(folder))


@lru_cache(maxsize=4)
def _load_named(name: str, folders: tuple[Path, ...]) -> Checkpoint:
    entry = _entry(name, folders)
    return _load_checkpoint(Path(entry["folder"]) / f"{name}.pt", expected_sha256=entry["sha256"])


def _load_checkpoint(path: Path, expected_sha256: str | None = None) -> Checkpoint:
    """A model in its training form: this needs PyTorch (moodmap[train])."""
    try:
        from .checkpoint import load_checkpoint
    except ImportError:
        raise ModelError(path, "a .pt checkpoint needs PyTorch: pip install 'moodmap[train]', or use its .onnx "
                               "form (`moodmap export` writes one)") from None
    return load_checkpoint(path, expected_sha256)


def _entry(name: str, folders: tuple[Path, ...]) -> dict:
    models = _models(folders)
    if name not in models:
        known = ", ".join(models) or "none"
        raise ModelError(None, f"unknown model {name!r} (registered: {known}); or give a .pt file")
    return models[name]


@dataclass(frozen=True)
class ModelIdentity:
    """What a model is called, its checksum (what a library index records) and the note its
    outputs must carry — known without loading it for a registered name."""

    name: str
    sha256: str
    note: str | None = None
    description: str = ""
    backend: str = "onnxruntime"  # what it predicts on: a .pt path runs on torch


def identify(name_or_path: str | Path, folder: Path | None = None) -> ModelIdentity:
    """A model's identity: for a registered name from its entry (nothing loaded: an unchanged
    rescan never starts onnxruntime); for a path, from the loaded model."""
    if is_model_path(name_or_path):
        resolved = resolve(name_or_path)
        return ModelIdentity(resolved.name, resolved.sha256, resolved.note, resolved.description,
                             resolved.predictor.backend)
    entry = _entry(str(name_or_path), _folders(folder))
    return ModelIdentity(str(name_or_path), entry["sha256"], note_for(entry), entry.get("description", ""))


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to predict with, and what to say about it.

    ``predictor`` runs on onnxruntime for a registered model (its ``NAME.onnx``) or an
    ``.onnx`` path, on torch for a ``.pt`` path; ``name`` is the registered name or the path
    as given; ``sha256`` the weights file's checksum (what a library index records: the
    ``.pt`` of a registered model); ``note`` what every output must say about the weights
    (demo weights), if anything."""

    predictor: Predictor
    name: str
    sha256: str
    note: str | None = None
    description: str = ""


def resolve(name_or_path: str | Path, folder: Path | None = None) -> ResolvedModel:
    """The one way to get a model for prediction: a registered name (sha256-checked) or a
    ``.onnx`` / ``.pt`` path, loaded once per process (a path again after its file changed)."""
    if is_model_path(name_or_path):
        path = _model_file(name_or_path)
        st = path.stat()
        resolved = _resolve_path(str(path.resolve()), (st.st_size, st.st_mtime_ns))
        return dataclasses.replace(resolved, name=str(name_or_path))
    return _resolve_named(str(name_or_path), _folders(folder))


@lru_cache(maxsize=8)
def _resolve_named(name: str, folders: tuple[Path, ...]) -> ResolvedModel:
    entry = _entry(name, folders)
    onnx_path = Path(entry["folder"]) / f"{name}.onnx"
    if entry.get("onnx_sha256") and onnx_path.exists():
        if sha256(onnx_path) != entry["onnx_sha256"]:
            raise ModelError(onnx_path, "sha256 does not match: the file is corrupt or not the one expected")
        predictor = _onnx_predictor(onnx_path)
    else:  # registered before moodmap wrote ONNX forms: its checkpoint, on torch
        predictor = _torch_predictor(_load_named(name, folders))
    note = note_for(entry) or predictor.meta.get("note")
    return ResolvedModel(predictor.noted(note), name, entry["sha256"], note, entry.get("description", ""))


def _model_file(name_or_path: str | os.PathLike) -> Path:
    """The model file a path argument names; a one-line error naming it as given when there is none."""
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise ModelError(os.fspath(name_or_path), "no such model file")
    if not path.is_file() or path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(os.fspath(name_or_path), "not a model file (give a .onnx or .pt file, or a registered "
                                                  "model's name)")
    return path


@lru_cache(maxsize=8)
def _resolve_path(path: str, stat_key: tuple) -> ResolvedModel:
    if path.lower().endswith(".onnx"):
        predictor = _onnx_predictor(path)
    else:
        predictor = _torch_predictor(_load_checkpoint(Path(path)))
    note = predictor.meta.get("note") or provenance.note(predictor.meta.get("provenance"))
    return ResolvedModel(predictor.noted(note), path, sha256(path), note)


def _onnx_predictor(path: str | Path) -> Predictor:
    from .predictor import load_onnx  # numpy and onnxruntime: only once there is something to predict

    return load_onnx(path)


def _torch_predictor(checkpoint: Checkpoint) -> Predictor:
    from .onnx_form import torch_predictor  # torch is there: the checkpoint was loaded with it

    return torch_predictor(checkpoint)


def model_note(name: str, folder: Path | None = None) -> str | None:
    """What every output of a registered model must say about it (demo weights), if anything."""
    return note_for(available_models(folder).get(name, {}))


def note_for(entry: dict) -> str | None:
    """The note a registry entry's outputs must carry (demo weights), if any."""
    return DEMO_NOTE if entry.get("synthetic") else entry.get("note")


def register(checkpoint_path: Path, name: str, description: str, card: str, folder: Path | None = None,
             record: dict | None = None) -> Path:
    """Copy a checkpoint in as ``name`` with its checksum entry (and the training data's
    provenance ``record``) and model card, into ``folder`` (default: the user's models; a
    shipped model's name is refused there)."""
    if folder is None:
        folder = user_models()
        if name in available_models(WEIGHTS):
            raise ModelError(None, f"{name!r} is the name of a model shipped with moodmap; choose another name "
                                   "(or --to FOLDER)")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.pt"
    shutil.copyfile(checkpoint_path, target)
    from .onnx_form import write_onnx

    checkpoint = _load_checkpoint(target)
    note = DEMO_NOTE if record and record.get("synthetic") else checkpoint.meta.get("note")
    onnx_sha = write_onnx(dataclasses.replace(checkpoint, meta={**checkpoint.meta, "note": note}),
                          folder / f"{name}.onnx")
    entry = {"name": name, "sha256": sha256(target), "onnx_sha256": onnx_sha, "description": description,
             "note": note, "file": target.name, "synthetic": bool(record and record.get("synthetic")), "provenance": record}
    atomic_write_text(folder / f"{name}.json", json.dumps(entry, indent=2) + "\n")
    atomic_write_text(folder / f"{name}.md", card)
    _load_named.cache_clear()
    _resolve_named.cache_clear()
    return target
