import math

import pytest

from moodmap.core.mood import EMOTIONS, anchor_point, describe, nearest_emotion, quadrant


@pytest.mark.parametrize("v,a,q", [(0.7, 0.7, "Q1"), (0.3, 0.7, "Q2"), (0.3, 0.3, "Q3"), (0.7, 0.3, "Q4")])
def test_quadrant_by_signs(v, a, q):
    assert quadrant(v, a) == q


def test_neutral_zone_gives_no_quadrant():
    assert quadrant(0.52, 0.49, neutral=0.05) is None
    assert quadrant(0.6, 0.49, neutral=0.05) == "Q4"


def test_every_anchor_is_its_own_nearest_emotion():
    for emotion in EMOTIONS:
        assert nearest_emotion(emotion.valence, emotion.arousal).name == emotion.name


def test_anchor_quadrants_match_the_circumplex():
    expected = {"happy": "Q1", "excited": "Q1", "tense": "Q2", "angry": "Q2", "sad": "Q3",
                "depressed": "Q3", "calm": "Q4", "relaxed": "Q4"}
    for emotion in EMOTIONS:
        assert quadrant(emotion.valence, emotion.arousal) == expected[emotion.name]


def test_describe_angle_and_intensity():
    d = describe(0.8, 0.5)
    assert d.angle == pytest.approx(0.0) and d.intensity == pytest.approx(0.3)
    assert describe(0.5, 0.2).angle == pytest.approx(270.0)


def test_anchor_point_accepts_aliases_and_quadrants():
    assert anchor_point("Happiness") == anchor_point("happy")
    v, a = anchor_point("q2")
    assert v < 0.5 < a and math.isclose(math.hypot(v - 0.5, a - 0.5), 0.3)
    assert anchor_point("polka") is None
