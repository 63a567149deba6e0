"""The module paths of moodmap 0.1's flat layout, kept working until 0.3 (CHANGELOG.md).

moodmap 0.2 put its modules in subpackages by side: ``core``, ``inference``, ``library``,
``web`` and ``research``. ``import moodmap.scan`` (and every other old path below) still
imports the module at its new place — the very same module object, so state and patches are
shared — with a ``DeprecationWarning`` naming the new path. ``moodmap.library`` is the library
package now; its ``__getattr__`` still hands out what the old module offered.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

# old path → new path, both below ``moodmap.``
MOVED = {
    "atomic": "core.atomic",
    "audio": "core.audio",
    "audio_blocks": "core.audio_blocks",
    "audio_payload": "core.audio_payload",
    "augment": "research.augment",
    "cache": "research.cache",
    "calibration": "research.calibration",
    "checksums": "core.checksums",
    "compare": "research.compare",
    "config": "core.config",
    "datasets": "research.datasets",
    "datasets.deam": "research.datasets.deam",
    "datasets.emomusic": "research.datasets.emomusic",
    "datasets.folders": "research.datasets.folders",
    "datasets.manifest": "research.datasets.manifest",
    "datasets.pmemo": "research.datasets.pmemo",
    "datasets.render": "research.datasets.render",
    "datasets.score": "research.datasets.score",
    "datasets.soundfont": "research.datasets.soundfont",
    "datasets.synth": "research.datasets.synth",
    "datasets.table": "research.datasets.table",
    "download": "research.download",
    "engines": "core.engines",
    "errors": "core.errors",
    "experiments": "research.experiments",
    "features": "core.features",
    "features_reference": "research.features_reference",
    "figures": "research.figures",
    "metrics": "research.metrics",
    "models": "research.models",
    "models.card": "research.models.card",
    "models.checkpoint": "research.models.checkpoint",
    "models.inference": "research.models.torch_predict",
    "models.losses": "research.models.losses",
    "models.moodnet": "research.models.moodnet",
    "models.networks": "research.models.networks",
    "models.onnx_form": "research.models.onnx_form",
    "models.optimizers": "research.models.optimizers",
    "models.paper_cnn": "research.models.paper_cnn",
    "models.predictor": "inference.predictor",
    "models.registry": "inference.registry",
    "mood": "core.mood",
    "mood_map": "library.mood_map",
    "mpd_stickers": "library.mpd_stickers",
    "navidrome": "library.navidrome",
    "plane_png": "library.plane_png",
    "playlist_folder": "library.playlist_folder",
    "playlist_query": "library.playlist_query",
    "playlists": "library.playlists",
    "predict": "inference.predict",
    "presets": "research.presets",
    "priority": "core.priority",
    "provenance": "core.provenance",
    "pyav_reader": "core.pyav_reader",
    "ray_engine": "core.ray_engine",
    "report": "research.report",
    "run_loop": "research.run_loop",
    "runtime": "research.runtime",
    "scan": "library.scan",
    "song_table": "library.song_table",
    "sweep": "research.sweep",
    "tagging": "library.tagging",
    "tags": "library.tags",
    "train": "research.train",
    "watch": "library.watch",
}
PACKAGES = {"datasets", "models"}


def new_path(old: str) -> str | None:
    """Where the 0.1 module ``old`` (below ``moodmap.``) is now; None for a path that did not move.
    A module below a moved package moved with it."""
    if old in MOVED:
        return MOVED[old]
    package, _, rest = old.partition(".")
    return f"{MOVED[package]}.{rest}" if package in PACKAGES and rest else None


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and loads it as the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("moodmap.") or new_path(fullname.removeprefix("moodmap.")) is None:
            return None
        old = fullname.removeprefix("moodmap.")
        return importlib.util.spec_from_loader(fullname, self, is_package=old in PACKAGES)

    def create_module(self, spec):
        new = "moodmap." + new_path(spec.name.removeprefix("moodmap."))
        warnings.warn(f"{spec.name} is now {new}; the old path goes in moodmap 0.3", DeprecationWarning,
                      stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module) -> None:
        """The module was run at its new path already."""


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModules())
