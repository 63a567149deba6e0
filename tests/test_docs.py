"""The examples in the public modules' docstrings run and say what they show."""
import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["moodmap.audio", "moodmap.features", "moodmap.mood", "moodmap.datasets", "moodmap.playlists",
                                  "moodmap.predict", "moodmap.calibration", "moodmap.ray_engine", "moodmap.presets",
                                  "moodmap.compare"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
