"""Models to predict with: registered names, or model files given by path — without PyTorch.

Named models live in two folders: the ones shipped inside the package (``moodmap/weights/``)
and the user's own (``moodmap export``'s default: ``$MOODMAP_MODELS``, else
``$XDG_DATA_HOME/moodmap/models``, i.e. ``~/.local/share/moodmap/models``), so exporting
never writes into an installed package and a reinstall never loses a user's model. A
shipped name cannot be taken by a user's model. Each named model is ``<name>.onnx`` (what
prediction runs, on onnxruntime) beside ``<name>.pt`` (its training checkpoint),
``<name>.json`` (both files' sha256 and a one-line description) and ``<name>.md`` (its model
card); ``moodmap export`` writes them (``models.card``, the research side).

``resolve`` is the one way to get a model to predict with, and ``is_model_path`` the one rule
that tells a path from a name. This module is the library side: it never loads torch. A
``.pt`` checkpoint with no registered ONNX form beside it is the research side's to run
(``models.checkpoint.resolve_checkpoint``, on torch).
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..core import provenance
from ..core.checksums import sha256
from ..core.errors import ModelError
from ..core.provenance import DEMO_NOTE

if TYPE_CHECKING:
    from .predictor import Predictor

# The shipped model predict, scan, serve and beets use unless told otherwise (``--model paper`` for the paper's).
DEFAULT_MODEL = "improved"
WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
MODEL_SUFFIXES = (".onnx", ".pt")

__all__ = ["DEFAULT_MODEL", "DEMO_NOTE", "WEIGHTS", "ModelIdentity", "NoOnnxForm", "ResolvedModel",
           "available_models", "forget", "identify", "is_model_path", "model_entry", "model_file", "model_note",
           "note_for", "resolve", "user_models", "valid_name"]


class NoOnnxForm(ModelError):
    """A model known only in its training form (a ``.pt`` checkpoint): prediction here runs ONNX."""


def is_model_path(name_or_path: str | os.PathLike) -> bool:
    """Whether a model argument is a path: only when it looks like one (a path separator, or a
    model suffix). Anything else is a registered name, whatever the working directory holds: a
    folder called ``improved`` next to a user's songs must not replace the model ``improved``."""
    text = os.fspath(name_or_path)
    separators = {os.sep, os.altsep or os.sep, "/"}
    return any(s in text for s in separators) or text.lower().endswith(MODEL_SUFFIXES)


def valid_name(name: str) -> str:
    """``name`` when it can name a model (what ``--model NAME`` would find again); else a one-line error."""
    if not name or name.startswith(".") or is_model_path(name):
        raise ModelError(None, f"{name!r} cannot name a model: a name has no path separator, no leading dot and "
                               f"no {' or '.join(MODEL_SUFFIXES)} suffix (those are read as paths)")
    return name


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


def model_entry(name: str, folder: Path | None = None) -> dict:
    """The registry entry of the model called ``name`` (with its ``folder``); a one-line error
    listing the registered names when there is none."""
    return _entry(name, _folders(folder))


def _entry(name: str, folders: tuple[Path, ...]) -> dict:
    models = _models(folders)
    if name not in models:
        known = ", ".join(models) or "none"
        raise ModelError(None, f"unknown model {name!r} (registered: {known}); or give a model file (.onnx, .pt)")
    return models[name]


def model_file(name_or_path: str | os.PathLike) -> Path:
    """The model file a path argument names; a one-line error naming it as given when there is none."""
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise ModelError(os.fspath(name_or_path), "no such model file")
    if not path.is_file() or path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(os.fspath(name_or_path), "not a model file (give a .onnx or .pt file, or a registered "
                                                  "model's name)")
    return path


@dataclass(frozen=True)
class ModelIdentity:
    """What a model is called, its checksum (what a library index records) and the note its
    outputs must carry — known without loading it for a registered name."""

    name: str
    sha256: str
    note: str | None = None
    description: str = ""


def identify(name_or_path: str | Path, folder: Path | None = None) -> ModelIdentity:
    """A model's identity: for a registered name from its entry (nothing loaded: an unchanged
    rescan never starts onnxruntime); for a path, from the loaded model."""
    if is_model_path(name_or_path):
        resolved = resolve(name_or_path)
        return ModelIdentity(resolved.name, resolved.sha256, resolved.note, resolved.description)
    entry = model_entry(str(name_or_path), folder)
    _onnx_form(str(name_or_path), entry)  # a model prediction cannot run is refused before any work
    return ModelIdentity(str(name_or_path), entry["sha256"], note_for(entry), entry.get("description", ""))


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to predict with, and what to say about it.

    ``predictor`` runs on onnxruntime (the research side's ``resolve_checkpoint`` makes one
    on torch); ``name`` is the registered name or the path as given; ``sha256`` the weights
    file's checksum (what a library index records: the ``.pt`` of a registered model);
    ``note`` what every output must say about the weights (demo weights), if anything."""

    predictor: Predictor
    name: str
    sha256: str
    note: str | None = None
    description: str = ""


def resolve(name_or_path: str | os.PathLike, folder: Path | None = None) -> ResolvedModel:
    """The one way to get a model for prediction, loaded once per process (a path again after
    its file changed): a registered name (sha256-checked), an ``.onnx`` file, or the ``.pt``
    of a registered model (its checked ONNX form beside it runs)."""
    if is_model_path(name_or_path):
        path = model_file(name_or_path)
        st = path.stat()
        resolved = _resolve_path(str(path.resolve()), (st.st_size, st.st_mtime_ns))
        return dataclasses.replace(resolved, name=str(name_or_path))
    return _resolve_named(str(name_or_path), _folders(folder))


@lru_cache(maxsize=8)
def _resolve_named(name: str, folders: tuple[Path, ...]) -> ResolvedModel:
    return _registered(name, _entry(name, folders))


@lru_cache(maxsize=8)
def _resolve_path(path: str, stat_key: tuple) -> ResolvedModel:
    if path.lower().endswith(".onnx"):
        predictor = _onnx_predictor(path)
        note = predictor.meta.get("note") or provenance.note(predictor.meta.get("provenance"))
        return ResolvedModel(predictor.noted(note), path, sha256(path), note)
    entry = _entry_beside(Path(path))
    if entry is None:
        raise NoOnnxForm(path, "a PyTorch checkpoint with no registered ONNX form beside it: `moodmap export RUN "
                               "--name NAME` registers its run with one (`moodmap predict` runs it as it is, on "
                               "torch, with moodmap[train])")
    return _registered(Path(path).stem, entry)


def _entry_beside(checkpoint: Path) -> dict | None:
    """The registry entry beside a ``.pt`` file when it describes exactly that file (its sha256)."""
    try:
        entry = json.loads(checkpoint.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("file", checkpoint.name) != checkpoint.name \
            or entry.get("sha256") != sha256(checkpoint):
        return None
    return {**entry, "folder": str(checkpoint.parent)}


def _registered(name: str, entry: dict) -> ResolvedModel:
    """A registered model: its checked ONNX form on onnxruntime, its entry's checksum and note."""
    predictor = _onnx_predictor(_onnx_form(name, entry))
    note = note_for(entry) or predictor.meta.get("note")
    return ResolvedModel(predictor.noted(note), name, entry["sha256"], note, entry.get("description", ""))


def _onnx_form(name: str, entry: dict) -> Path:
    """A registered model's ONNX file, sha256-checked."""
    onnx_path = Path(entry["folder"]) / f"{name}.onnx"
    if not entry.get("onnx_sha256") or not onnx_path.is_file():
        raise NoOnnxForm(Path(entry["folder"]) / f"{name}.pt", "registered without its ONNX form (what prediction "
                         "runs): export its run again (`moodmap export RUN --name NAME`); `moodmap predict` runs the "
                         "checkpoint as it is, on torch, with moodmap[train]")
    if sha256(onnx_path) != entry["onnx_sha256"]:
        raise ModelError(onnx_path, "sha256 does not match: the file is corrupt or not the one expected")
    return onnx_path


def _onnx_predictor(path: str | Path) -> Predictor:
    from .predictor import load_onnx  # numpy and onnxruntime: only once there is something to predict

    return load_onnx(path)


def model_note(name: str, folder: Path | None = None) -> str | None:
    """What every output of a registered model must say about it (demo weights), if anything."""
    return note_for(available_models(folder).get(name, {}))


def note_for(entry: dict) -> str | None:
    """The note a registry entry's outputs must carry (demo weights), if any."""
    return DEMO_NOTE if entry.get("synthetic") else entry.get("note")


def forget() -> None:
    """Drop the models loaded so far (a model was registered: a name may mean new files)."""
    _resolve_named.cache_clear()
    _resolve_path.cache_clear()
