"""moodmap: where a piece of music sits on the valence/arousal plane.

The pipeline (DESIGN.md): audio.load_excerpts → features.logmel → cache → models →
mood.describe. Values are on the paper's 0–1 scale throughout.
"""
from .config import FeatureConfig, config_hash
from .errors import AudioError, MoodmapError

__version__ = "0.1.0"
__all__ = ["FeatureConfig", "config_hash", "AudioError", "MoodmapError", "__version__"]
