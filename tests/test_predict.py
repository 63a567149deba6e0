import json

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import tone, write_audio
from moodmap.cli import app
from moodmap.core.errors import Failure, ModelError
from moodmap.research.models.card import SYNTHETIC_WARNING
from moodmap.research.models.checkpoint import load_model
from moodmap.inference.registry import available_models
from moodmap.inference.predict import Prediction, predict, predict_file


def test_export_writes_weights_checksum_and_card(exported):
    path, weights = exported
    entry = available_models(weights)["tiny"]
    assert path.exists() and len(entry["sha256"]) == 64 and "synthetic" in entry["description"]
    card = (weights / "tiny.md").read_text()
    assert SYNTHETIC_WARNING in card and "baseline" in card and "grouped" in card


def test_registered_model_loads_by_name_and_checks_its_sha(exported):
    path, weights = exported
    assert load_model("tiny", weights).model_config.filters == 4
    with pytest.raises(ModelError, match="unknown model"):
        load_model("nonesuch", weights)
    (weights / "evil.pt").write_bytes(path.read_bytes()[:-10] + b"0123456789")
    (weights / "evil.json").write_text(json.dumps({"sha256": available_models(weights)["tiny"]["sha256"]}))
    with pytest.raises(ModelError, match="sha256"):
        load_model("evil", weights)


def test_prediction_averages_centred_excerpts(tmp_path):
    import dataclasses

    from moodmap.core.features import excerpt_logmel
    from moodmap.inference.registry import resolve
    from moodmap.core.mood import describe
    from moodmap.research.presets import DEFAULT_MODEL

    # 60 s in three chords: the centred windows (7.5, 22.5, 37.5 s) hear other music than 0, 15, 30 s
    chords = [(220.0, 277.2, 329.6), (130.8, 155.6, 196.0), (440.0, 554.4, 659.3)]
    song = write_audio(tmp_path / "song.flac", np.concatenate([tone(20.0, 16000, freqs=f) for f in chords]), 16000)
    predictor = resolve(DEFAULT_MODEL).predictor  # the shipped model: the tiny one's outputs are all held at 0.1
    p = predict_file(song, predictor, DEFAULT_MODEL)
    centred = dataclasses.replace(predictor.feature_config, anchor="center")
    features, windows = excerpt_logmel(song, centred)
    assert [w.start for w in windows] == [7.5, 22.5, 37.5]
    per_excerpt = np.clip(predictor.predict(features).astype(np.float64), 0.1, 0.9)  # (valence, arousal) rows
    valence, arousal = per_excerpt.mean(axis=0)
    assert (p.valence, p.arousal) == pytest.approx((valence, arousal), abs=1e-6) and p.excerpts == 3
    assert (p.valence_spread, p.arousal_spread) == pytest.approx(tuple(per_excerpt.std(axis=0)), abs=1e-6)
    assert (p.valence_9, p.arousal_9) == pytest.approx((10 * valence, 10 * arousal), abs=1e-5)
    assert (p.quadrant, p.emotion) == (describe(valence, arousal).quadrant, describe(valence, arousal).emotion)
    from_start = np.clip(predictor.predict(excerpt_logmel(song, predictor.feature_config)[0]), 0.1, 0.9).mean(axis=0)
    assert np.abs(from_start - (valence, arousal)).max() > 1e-4  # the file tells centred from start windows


def test_timeline_slides_over_the_whole_track(exported, tmp_path):
    path = write_audio(tmp_path / "long.flac", tone(40.0, 16000), 16000)
    p = predict_file(path, load_model(exported[0]), timeline=True, hop=5.0)
    assert [pt.start for pt in p.timeline] == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]


def test_unreadable_files_are_reported_not_fatal(exported, tmp_path, synth_set):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"nope" * 100)
    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    results = predict([song, bad], exported[0])
    assert isinstance(results[0], Prediction) and isinstance(results[1], Failure)
    assert results[1].error == "DecodeError"


def test_cli_predict_formats_and_plot(exported, synth_set, tmp_path):
    song = str(next((synth_set / "clips_45seconds").glob("*.flac")))
    runner = CliRunner()
    as_json = runner.invoke(app, ["predict", song, "--model", str(exported[0]), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)[0]
    assert data["emotion"] and data["note"] == "demo weights, trained on synthetic music"  # the data says so …
    assert "moodmap: note: model" in as_json.stderr  # … and so does the console
    as_csv = runner.invoke(app, ["predict", song, "--model", str(exported[0]), "--format", "csv"])
    assert as_csv.stdout.startswith("path,valence,arousal,valence_9")
    import csv
    assert next(csv.DictReader(as_csv.stdout.splitlines()))["note"] == "demo weights, trained on synthetic music"
    plot = runner.invoke(app, ["predict", song, "--model", str(exported[0]), "--plot", str(tmp_path / "t.png")])
    assert plot.exit_code == 0 and (tmp_path / "t.png").stat().st_size > 5000
    missing = runner.invoke(app, ["predict", song, "--model", "nonesuch"])
    assert missing.exit_code == 2 and "unknown model" in missing.output


def test_synthetic_models_carry_their_note(exported):
    from moodmap.inference.registry import DEMO_NOTE, model_note

    assert model_note("tiny", exported[1]) == DEMO_NOTE
    assert model_note("nonesuch", exported[1]) is None


def test_predictions_stay_inside_the_rating_scale(exported, synth_set):
    import dataclasses

    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    overshooting = dataclasses.replace(load_model(exported[0]), target_scale=(50.0, -50.0))
    p = predict_file(song, overshooting)
    for value in (p.valence, p.arousal):  # far outside before clipping (×50), so pinned to an end
        assert value == pytest.approx(0.1) or value == pytest.approx(0.9)
    assert 1.0 - 1e-9 <= p.valence_9 <= 9.0 + 1e-9 and 1.0 - 1e-9 <= p.arousal_9 <= 9.0 + 1e-9


def _timeline_from_the_whole_file(path, checkpoint, hop):
    """The reference: the whole track decoded and normalised at once, every window at once."""
    from moodmap.core.audio import load_audio
    from moodmap.core.features import logmel
    from moodmap.inference.predict import _predict, as_predictor

    config = checkpoint.feature_config
    audio = load_audio(path, config.sample_rate, quality=config.resample_quality)
    length, step = config.excerpt_samples, int(round(hop * config.sample_rate))
    starts = list(range(0, max(1, len(audio) - length + 1), step))
    windows = np.zeros((len(starts), length), np.float32)
    for i, start in enumerate(starts):
        piece = audio[start:start + length]
        windows[i, :len(piece)] = piece
    return [(s / config.sample_rate, float(v), float(a))
            for s, (v, a) in zip(starts, _predict(as_predictor(checkpoint), logmel(windows, config)))]


@pytest.mark.parametrize("seconds, ext", [(80.0, "flac"), (61.3, "mp3"), (9.0, "wav")])
def test_a_streamed_timeline_equals_the_whole_file_one(exported, tmp_path, monkeypatch, seconds, ext):
    import moodmap.inference.predict as predict_module

    path = write_audio(tmp_path / f"long.{ext}", tone(seconds, 22050, channels=2), 22050)
    checkpoint = load_model(exported[0])
    monkeypatch.setattr(predict_module, "TIMELINE_BATCH", 4)
    streamed = [(p.start, p.valence, p.arousal) for p in predict_module.track_timeline(path, checkpoint, hop=2.0)]
    assert streamed == _timeline_from_the_whole_file(path, checkpoint, 2.0)


def test_timeline_points_say_when_they_were_held_at_the_scale(exported, synth_set, tmp_path):
    import dataclasses

    from moodmap.library.plane_png import timeline_plot

    song = next((synth_set / "clips_45seconds").glob("*.flac"))
    from moodmap.inference.registry import resolve

    normal = predict_file(song, resolve("improved").predictor, timeline=True, hop=10.0)  # the shipped default
    assert normal.timeline and not any(p.clipped for p in normal.timeline)
    overshooting = dataclasses.replace(load_model(exported[0]), target_scale=(50.0, -50.0))
    held = predict_file(song, overshooting, timeline=True, hop=10.0)
    assert all(p.clipped for p in held.timeline) and held.as_dict()["timeline"][0]["clipped"] is True
    assert timeline_plot(held, tmp_path / "held.png").stat().st_size > 5000
