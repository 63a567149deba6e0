"""moodmap: where a piece of music sits on the valence/arousal plane.

The layout, by side (docs/explanation/architecture.md):

- ``core``: settings, errors, atomic files, audio decoding, log-mel features, the mood plane, engines;
- ``inference``: the shipped models and prediction, on onnxruntime (no PyTorch);
- ``library``: the index, scan and watch, tags, playlists, the mood map; ``web``: the HTTP app;
- ``research`` (``moodmap[train]``): data sets, the feature cache, networks, training, the paper's sweep;
- ``cli``: the ``moodmap`` command. ``core``, ``inference``, ``library`` and ``web`` never import
  ``research``. Values are on the paper's 0–1 scale throughout.

Public API: ``moodmap.predict(paths)`` → ``Prediction`` records (``as_frame=True`` for a
DataFrame), ``moodmap.load_model(name_or_path)``, ``moodmap.describe(valence, arousal)``.
The 0.1 module paths (``moodmap.scan``, ``moodmap.predict`` as a module, …) work until 0.3
(``moodmap._moved``).
"""
from ._moved import install as _install_moved_paths
from .core.config import FeatureConfig, config_hash
from .core.errors import AudioError, MoodmapError

_install_moved_paths()

__version__ = "0.1.0"
__all__ = ["FeatureConfig", "config_hash", "AudioError", "MoodmapError", "__version__", "predict", "load_model",
           "Prediction", "describe"]

_LAZY = {"predict": ("inference.predict", "predict"), "Prediction": ("inference.predict", "Prediction"),
         "load_model": ("research.models.checkpoint", "load_model"), "describe": ("core.mood", "describe")}


def __getattr__(name: str):
    """The heavy parts of the public API (torch) load on first use, so ``import moodmap`` stays fast."""
    if name not in _LAZY:
        raise AttributeError(f"module 'moodmap' has no attribute {name!r}")
    import importlib

    module, attribute = _LAZY[name]
    return getattr(importlib.import_module(f".{module}", __name__), attribute)
