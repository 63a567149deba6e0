"""What predict.py decides, each in a test that fails when the line holding it is changed (mutation
testing, ``python benchmarks/mutation.py predict``): a prediction's fields and scales, the name and
note it carries, which model a caller's argument means, the timeline's windows (where each starts,
how many, a track shorter than one, streaming in batches, stopping when no longer wanted, the decode
limit), values held inside the rating scale and which were, and unreadable files as failures. In
process with the shipped default model on short tones."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import moodmap.inference.predict as predict_module
from helpers import tone, write_audio
from moodmap.core.errors import CancelledError, Failure, MoodmapError, TooLongError
from moodmap.core.features import excerpt_logmel, logmel
from moodmap.inference.registry import DEFAULT_MODEL, resolve
from moodmap.core.mood import describe
from moodmap.inference.predict import (RATING_RANGE, Prediction, TimelinePoint, as_predictor, predict, predict_file,
                             tagging_config, track_timeline)

RATE = 16000


@pytest.fixture(scope="module")
def model():
    return resolve(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    """20 s: a 15 s window fits at 0 … 5 s."""
    folder = tmp_path_factory.mktemp("predict")
    return write_audio(folder / "song.wav", tone(20.0, RATE, freqs=(220.0, 330.0)), RATE)


class Scaled:
    """A predictor whose outputs are the real model's times ``factor`` (outside the scale when large)."""

    def __init__(self, predictor, factor: float, **config) -> None:
        self.inner, self.factor = predictor, factor
        self.feature_config = dataclasses.replace(predictor.feature_config, **config)
        self.meta = {"note": "scaled"}

    def predict(self, features):
        return self.inner.predict(features) * self.factor

    def to_predictor(self):
        return self


class Makes:
    """What a research-side checkpoint looks like to predict.py: something that makes a Predictor."""

    def __init__(self, predictor) -> None:
        self.predictor = predictor

    def to_predictor(self):
        return self.predictor


def test_a_prediction_is_the_mean_of_its_centred_excerpts_with_its_spread_and_scales(model, song):
    p = predict_file(song, model.predictor, "given name")
    config = dataclasses.replace(model.predictor.feature_config, anchor="center")
    assert tagging_config(model.predictor.feature_config) == config
    features, windows = excerpt_logmel(song, config)
    rows = np.clip(model.predictor.predict(features).astype(np.float64), *RATING_RANGE)
    assert p.excerpts == len(windows) == len(rows)
    assert (p.valence, p.arousal) == pytest.approx(tuple(rows.mean(axis=0)))
    assert (p.valence_spread, p.arousal_spread) == pytest.approx(tuple(rows.std(axis=0)))
    assert (p.valence_9, p.arousal_9) == pytest.approx((10 * p.valence, 10 * p.arousal))
    assert (p.path, p.model, p.timeline, p.note) == (str(song), "given name", (), model.predictor.meta.get("note"))
    assert isinstance(p.valence, float) and isinstance(p.valence_spread, float)
    mood = describe(p.valence, p.arousal)
    assert (p.quadrant, p.emotion) == (mood.quadrant, mood.emotion) and p.emotion
    assert predict_file(song, model.predictor).model == ""  # no name given: none made up


def test_each_spread_is_its_own_dimensions(model, tmp_path):
    """Three chords, one per centred excerpt: the excerpts disagree, by a different amount on each axis."""
    chords = [(220.0, 277.2, 329.6), (130.8, 155.6, 196.0), (440.0, 554.4, 659.3)]
    song = write_audio(tmp_path / "chords.wav", np.concatenate([tone(15.0, RATE, freqs=f) for f in chords]), RATE)
    p = predict_file(song, model.predictor)
    config = dataclasses.replace(model.predictor.feature_config, anchor="center")
    rows = np.clip(model.predictor.predict(excerpt_logmel(song, config)[0]).astype(np.float64), *RATING_RANGE)
    assert p.excerpts == 3 and rows[:, 0].std() != pytest.approx(rows[:, 1].std())
    assert (p.valence_spread, p.arousal_spread) == pytest.approx((rows[:, 0].std(), rows[:, 1].std()))


def test_a_models_note_is_carried_by_its_predictions(model, song):
    assert predict_file(song, Scaled(model.predictor, 1.0)).note == "scaled"


def test_the_fields_and_a_dict_of_a_prediction(model, song):
    p = predict_file(song, model.predictor, timeline=True, hop=5.0)
    assert Prediction.fields() == ["path", "valence", "arousal", "valence_9", "arousal_9", "valence_spread",
                                   "arousal_spread", "quadrant", "emotion", "excerpts", "model", "note", "timeline"]
    data = p.as_dict()
    assert list(data) == Prediction.fields() and data["valence"] == p.valence
    assert data["timeline"] == [{"start": t.start, "valence": t.valence, "arousal": t.arousal, "clipped": t.clipped}
                                for t in p.timeline]


def test_a_timeline_window_starts_every_hop_seconds_over_the_whole_track(model, song):
    points = track_timeline(song, model.predictor, hop=2.5)
    assert [p.start for p in points] == [0.0, 2.5, 5.0]
    config = model.predictor.feature_config
    audio = np.concatenate(list(predict_module.normalised_blocks(song, config.sample_rate,
                                                                 config.resample_quality, None)))
    length = config.excerpt_samples
    windows = np.stack([audio[int(s * config.sample_rate):int(s * config.sample_rate) + length]
                        for s in (0.0, 2.5, 5.0)])
    expected = np.clip(model.predictor.predict(logmel(windows, config)).astype(np.float64), *RATING_RANGE)
    assert [(p.valence, p.arousal) for p in points] == pytest.approx([tuple(r) for r in expected])
    assert all(isinstance(p.valence, float) and p.clipped is False for p in points)
    assert predict_file(song, model.predictor, timeline=True, hop=2.5).timeline == tuple(points)
    assert [p.start for p in track_timeline(song, model.predictor)] == [0.0, 5.0]  # five seconds by default


def test_a_timeline_in_many_batches_is_the_one_in_a_single_batch(model, song, monkeypatch):
    whole = track_timeline(song, model.predictor, hop=1.0)
    assert len(whole) == 6
    monkeypatch.setattr(predict_module, "TIMELINE_BATCH", 4)
    batched = track_timeline(song, model.predictor, hop=1.0)
    assert [p.start for p in batched] == [p.start for p in whole] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert [(p.valence, p.arousal) for p in batched] == pytest.approx([(p.valence, p.arousal) for p in whole],
                                                                      abs=1e-6)


def test_a_tiny_hop_is_one_sample_not_zero(model, tmp_path):
    short = write_audio(tmp_path / "short.wav", tone(15.0005, RATE), RATE)  # the window fits 8 times, a sample apart
    points = track_timeline(short, model.predictor, hop=0.0)
    assert [round(p.start * RATE) for p in points] == list(range(9))


def test_a_track_shorter_than_a_window_has_one_zero_padded_point(model, tmp_path):
    short = write_audio(tmp_path / "short.wav", tone(6.0, RATE), RATE)
    points = track_timeline(short, model.predictor, hop=1.0)
    assert [p.start for p in points] == [0.0]
    config = model.predictor.feature_config
    audio = np.concatenate(list(predict_module.normalised_blocks(short, config.sample_rate,
                                                                 config.resample_quality, None)))
    window = np.pad(audio, (0, config.excerpt_samples - len(audio)))[None, :]
    expected = np.clip(model.predictor.predict(logmel(window, config)).astype(np.float64), *RATING_RANGE)[0]
    assert (points[0].valence, points[0].arousal) == pytest.approx(tuple(expected))


def test_a_timeline_stops_when_it_is_no_longer_wanted(model, song, monkeypatch):
    monkeypatch.setattr(predict_module, "TIMELINE_BATCH", 2)
    asked = []

    def wanted():
        asked.append(1)
        return len(asked) < 2

    with pytest.raises(CancelledError) as cancelled:
        track_timeline(song, model.predictor, hop=1.0, wanted=wanted)
    assert (cancelled.value.path, cancelled.value.reason) == (str(song), "stopped: the result is no longer wanted")
    assert len(asked) == 2
    with pytest.raises(CancelledError):  # asked through predict_file too (the web app's timelines)
        predict_file(song, model.predictor, timeline=True, hop=1.0, wanted=lambda: False)
    assert len(track_timeline(song, model.predictor, hop=1.0, wanted=lambda: True)) == 6


def test_a_timeline_decodes_no_more_than_its_limit(model, song):
    with pytest.raises(TooLongError):
        predict_file(song, model.predictor, timeline=True, limit=10.0)
    assert len(predict_file(song, model.predictor, timeline=True, limit=30.0).timeline) == 2


def test_values_past_the_rating_scale_are_held_at_its_ends_and_said_to_be(model, song):
    p = predict_file(song, Scaled(model.predictor, 100.0), timeline=True)
    assert (p.valence, p.arousal) == (0.9, 0.9) and (p.valence_spread, p.arousal_spread) == (0.0, 0.0)
    assert [(t.valence, t.arousal, t.clipped) for t in p.timeline] == [(0.9, 0.9, True)] * 2
    low = predict_file(song, Scaled(model.predictor, -1.0), timeline=True)
    assert (low.valence, low.arousal) == (0.1, 0.1) and all(t.clipped for t in low.timeline)
    assert RATING_RANGE == (0.1, 0.9)


def test_predict_many_files_names_the_model_and_reports_unreadable_ones(model, song, tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + b"\x00" * 500)
    results = predict([song, broken], DEFAULT_MODEL, timeline=True, hop=5.0)
    assert isinstance(results[0], Prediction) and results[0].model == DEFAULT_MODEL
    assert len(results[0].timeline) == 2
    assert isinstance(results[1], Failure) and results[1].path == str(broken)
    assert predict([song])[0].model == DEFAULT_MODEL and predict([song])[0].timeline == ()
    assert [t.start for t in predict([song], timeline=True)[0].timeline] == [0.0, 5.0]  # every 5 s by default
    assert (results[1].error, results[1].reason.startswith("not a decodable audio file")) == ("DecodeError", True)
    by_resolved = predict([song], model, hop=2.5, timeline=True)[0]
    assert by_resolved.model == model.name and [t.start for t in by_resolved.timeline] == [0.0, 2.5, 5.0]
    assert predict([song], model.predictor)[0].model == "custom"
    assert predict([song], Makes(model.predictor))[0].valence == results[0].valence


def test_predict_as_a_frame_is_one_row_per_file_or_says_it_needs_pandas(model, song, tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + b"\x00" * 500)
    try:
        import pandas as pd
    except ImportError:
        with pytest.raises(MoodmapError) as refused:
            predict([song, broken], model, as_frame=True)
        assert refused.value.reason == "as_frame=True needs pandas: pip install 'moodmap[frame]'"
        return
    frame = predict([song, broken], model, as_frame=True)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert frame["path"].tolist() == [str(song), str(broken)] and frame["error"].isna().tolist() == [True, False]


def test_what_can_be_predicted_with(model):
    assert as_predictor(model.predictor) is model.predictor
    assert as_predictor(model) is model.predictor
    assert as_predictor(Makes(model.predictor)) is model.predictor
    with pytest.raises(MoodmapError) as refused:
        as_predictor(object())
    assert refused.value.reason == ("cannot predict with a object: give a registered model's name, a model file, a "
                                    "Predictor or a checkpoint")
    with pytest.raises(MoodmapError, match="cannot predict with a Stub"):
        as_predictor(type("Stub", (), {"to_predictor": None})())


def test_a_timeline_point_is_unclipped_unless_said():
    assert TimelinePoint(1.0, 0.5, 0.5).clipped is False


def test_a_timeline_of_a_file_at_another_rate_is_resampled_with_the_models_quality(model, tmp_path):
    song = write_audio(tmp_path / "cd.wav", tone(16.0, 22050, freqs=(330.0,)), 22050)
    config = model.predictor.feature_config
    audio = np.concatenate(list(predict_module.normalised_blocks(song, config.sample_rate,
                                                                 config.resample_quality, None)))
    window = audio[None, :config.excerpt_samples]
    expected = np.clip(model.predictor.predict(logmel(window, config)).astype(np.float64), *RATING_RANGE)[0]
    points = track_timeline(song, model.predictor, hop=5.0)
    assert [p.start for p in points] == [0.0] and (points[0].valence, points[0].arousal) == pytest.approx(
        tuple(expected))


def test_a_long_track_streamed_in_blocks_gives_the_windows_of_the_whole_track(model, tmp_path):
    """34 s in blocks of about 4 s: windows start in blocks read long after the first ones were dropped."""
    song = write_audio(tmp_path / "long.wav", np.concatenate([tone(17.0, RATE, freqs=(220.0,)),
                                                              tone(17.0, RATE, freqs=(880.0, 990.0))]), RATE)
    config = model.predictor.feature_config
    audio = np.concatenate(list(predict_module.normalised_blocks(song, config.sample_rate,
                                                                 config.resample_quality, None)))
    starts = [0.0, 6.0, 12.0, 18.0]
    windows = np.stack([audio[int(s * RATE):int(s * RATE) + config.excerpt_samples] for s in starts])
    expected = np.clip(model.predictor.predict(logmel(windows, config)).astype(np.float64), *RATING_RANGE)
    points = track_timeline(song, model.predictor, hop=6.0)
    assert [p.start for p in points] == starts
    assert [(p.valence, p.arousal) for p in points] == pytest.approx([tuple(r) for r in expected], abs=1e-5)


def test_a_timeline_is_made_with_the_models_own_features(model, song):
    other = Scaled(model.predictor, 1.0, top_db=30.0)  # a model that wants its spectrograms cut at 30 dB
    config = other.feature_config
    audio = np.concatenate(list(predict_module.normalised_blocks(song, config.sample_rate,
                                                                 config.resample_quality, None)))
    window = audio[None, :config.excerpt_samples]
    own = np.clip(model.predictor.predict(logmel(window, config)).astype(np.float64), *RATING_RANGE)[0]
    default = np.clip(model.predictor.predict(logmel(window, model.predictor.feature_config)), *RATING_RANGE)[0]
    assert np.abs(own - default).max() > 1e-4  # the file tells the two apart
    point = track_timeline(song, other, hop=10.0)[0]
    assert (point.valence, point.arousal) == pytest.approx(tuple(own))
