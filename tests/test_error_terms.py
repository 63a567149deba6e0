"""The library names a parameter in its own (API) terms; each front end says it its way: the HTTP API and
``str()`` as the field (``mood_tag``), the command line as its option (``--mood-tag``)."""
from __future__ import annotations

import pickle

from moodmap.core.errors import ConfigError, MoodmapError, as_fields, as_options, parameter


def test_a_parameter_is_a_field_to_the_apis_and_an_option_to_the_command_line():
    error = MoodmapError("/m/a.flac", f"{parameter('mood_tag')} must be one of keep, replace, skip")
    assert str(error) == "/m/a.flac: mood_tag must be one of keep, replace, skip" == f"{error.path}: {error.reason}"
    assert error.for_command_line() == "/m/a.flac: --mood-tag must be one of keep, replace, skip"


def test_the_marks_cross_a_process_boundary():
    error = pickle.loads(pickle.dumps(ConfigError(None, f"{parameter('address')} is for {parameter('engine')} ray")))
    assert type(error) is ConfigError and error.for_command_line() == "--address is for --engine ray"
    assert str(error) == "address is for engine ray"


def test_what_a_user_typed_is_never_taken_for_a_parameter():
    typed = "\ue000sort\ue001"  # the marks themselves, typed in: a quoted value shows them escaped
    error = MoodmapError(None, f"{parameter('sort')} {typed!r}: sort by valence or arousal")
    assert error.for_command_line() == "--sort '\\ue000sort\\ue001': sort by valence or arousal"
    assert as_fields(as_options("no parameter here")) == "no parameter here"
