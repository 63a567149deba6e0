"""The valence/arousal plane: quadrants and named emotions, defined once.

Coordinates are on the paper's 0–1 scale with the neutral point at (0.5, 0.5).
Angles follow Russell's circumplex: 0° is pleasant (valence up), 90° is aroused.

Examples
--------
>>> from moodmap.core.mood import describe
>>> d = describe(0.72, 0.68)
>>> d.quadrant, d.emotion
('Q1', 'happy')
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import MoodmapError

CENTER = 0.5
ANCHOR_RADIUS = 0.3  # anchors sit well inside the data's range (means span ~0.15–0.85)


@dataclass(frozen=True)
class Emotion:
    """A named emotion: its angle on the circumplex and its anchor point."""

    name: str
    angle: float  # degrees, counter-clockwise from positive valence

    @property
    def valence(self) -> float:
        return CENTER + ANCHOR_RADIUS * math.cos(math.radians(self.angle))

    @property
    def arousal(self) -> float:
        return CENTER + ANCHOR_RADIUS * math.sin(math.radians(self.angle))


EMOTIONS: tuple[Emotion, ...] = (
    Emotion("happy", 20.0),
    Emotion("excited", 60.0),
    Emotion("tense", 105.0),
    Emotion("angry", 140.0),
    Emotion("sad", 200.0),
    Emotion("depressed", 240.0),
    Emotion("calm", 290.0),
    Emotion("relaxed", 330.0),
)
EMOTION_BY_NAME = {e.name: e for e in EMOTIONS}

QUADRANT_SIGNS = {"Q1": (True, True), "Q2": (False, True), "Q3": (False, False), "Q4": (True, False)}
"""Per quadrant: (valence ≥ 0.5, arousal ≥ 0.5); the midlines belong to the positive / high side."""
QUADRANT_EXAMPLES = {"Q1": "happy, excited", "Q2": "tense, angry", "Q3": "sad, depressed", "Q4": "calm, relaxed"}
QUADRANT_CENTERS = {
    "Q1": (CENTER + ANCHOR_RADIUS / math.sqrt(2), CENTER + ANCHOR_RADIUS / math.sqrt(2)),
    "Q2": (CENTER - ANCHOR_RADIUS / math.sqrt(2), CENTER + ANCHOR_RADIUS / math.sqrt(2)),
    "Q3": (CENTER - ANCHOR_RADIUS / math.sqrt(2), CENTER - ANCHOR_RADIUS / math.sqrt(2)),
    "Q4": (CENTER + ANCHOR_RADIUS / math.sqrt(2), CENTER - ANCHOR_RADIUS / math.sqrt(2)),
}

# Folder and label names used by categorical data sets, mapped to a canonical name.
ALIASES = {
    "happiness": "happy", "joy": "happy", "joyful": "happy", "cheerful": "happy",
    "excitement": "excited", "energetic": "excited",
    "tension": "tense", "fear": "tense", "scary": "tense", "anxious": "tense",
    "anger": "angry", "aggressive": "angry",
    "sadness": "sad", "melancholic": "sad", "melancholy": "sad",
    "depression": "depressed", "gloomy": "depressed",
    "calmness": "calm", "peaceful": "calm", "serene": "calm", "tender": "calm",
    "relax": "relaxed", "relaxing": "relaxed", "chill": "relaxed", "content": "relaxed",
}


@dataclass(frozen=True)
class MoodDescription:
    """Where a (valence, arousal) point sits, in words."""

    valence: float
    arousal: float
    quadrant: str | None  # None inside the neutral zone
    emotion: str
    angle: float
    intensity: float  # distance from the neutral point


def quadrant(valence: float, arousal: float, neutral: float = 0.0) -> str | None:
    """Russell quadrant by the signs of (v − 0.5, a − 0.5); ``None`` within ``neutral`` of the centre."""
    if math.hypot(valence - CENTER, arousal - CENTER) < neutral:
        return None
    return next(q for q in QUADRANT_SIGNS if in_quadrant(valence, arousal, q))


def in_quadrant(valence, arousal, name: str):
    """Whether points lie in quadrant ``name`` (scalars, or numpy arrays element-wise)."""
    positive, high = QUADRANT_SIGNS[name]
    return ((valence >= CENTER) == positive) & ((arousal >= CENTER) == high)


def nearest_emotion(valence: float, arousal: float) -> Emotion:
    """The named emotion whose anchor point is closest."""
    return min(EMOTIONS, key=lambda e: (e.valence - valence) ** 2 + (e.arousal - arousal) ** 2)


def describe(valence: float, arousal: float, neutral: float = 0.0) -> MoodDescription:
    """Quadrant, nearest named emotion, angle and intensity of a point."""
    dv, da = valence - CENTER, arousal - CENTER
    angle = math.degrees(math.atan2(da, dv)) % 360.0
    return MoodDescription(valence, arousal, quadrant(valence, arousal, neutral),
                           nearest_emotion(valence, arousal).name, angle, math.hypot(dv, da))


def resolve_emotion(name: str) -> Emotion:
    """The named emotion for a name or an alias ("joy" → happy); a clear error for anything else."""
    key = name.strip().lower()
    emotion = EMOTION_BY_NAME.get(ALIASES.get(key, key))
    if emotion is None:
        raise MoodmapError(None, f"unknown mood {name!r}; choose from {', '.join(EMOTION_BY_NAME)} or Q1–Q4")
    return emotion


def anchor_point(label: str) -> tuple[float, float] | None:
    """(valence, arousal) for a category label: an emotion, an alias or a quadrant name."""
    key = label.strip().lower()
    if key.upper() in QUADRANT_CENTERS:
        return QUADRANT_CENTERS[key.upper()]
    emotion = EMOTION_BY_NAME.get(ALIASES.get(key, key))
    return None if emotion is None else (emotion.valence, emotion.arousal)


def mood_names() -> list[str]:
    """Every mood a playlist can be drawn from: the named emotions, then the quadrants Q1–Q4."""
    return [e.name for e in EMOTIONS] + sorted(QUADRANT_CENTERS)
