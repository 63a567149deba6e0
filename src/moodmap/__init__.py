"""moodmap: where a piece of music sits on the valence/arousal plane.

The pipeline (the README's Layout section): audio.load_excerpts → features.logmel → cache → models →
mood.describe. Values are on the paper's 0–1 scale throughout.

Public API: ``moodmap.predict(paths)`` → ``Prediction`` records (``as_frame=True`` for a
DataFrame), ``moodmap.load_model(name_or_path)``, ``moodmap.describe(valence, arousal)``.
"""
from .config import FeatureConfig, config_hash
from .errors import AudioError, MoodmapError

__version__ = "0.1.0"
__all__ = ["FeatureConfig", "config_hash", "AudioError", "MoodmapError", "__version__", "predict", "load_model",
           "Prediction", "describe"]

_LAZY = {"predict": ("predict", "predict"), "Prediction": ("predict", "Prediction"),
         "load_model": ("models.checkpoint", "load_model"), "describe": ("mood", "describe")}


def __getattr__(name: str):
    """The heavy parts of the public API (torch) load on first use, so ``import moodmap`` stays fast."""
    if name not in _LAZY:
        raise AttributeError(f"module 'moodmap' has no attribute {name!r}")
    import importlib

    module, attribute = _LAZY[name]
    return getattr(importlib.import_module(f".{module}", __name__), attribute)
