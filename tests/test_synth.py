import numpy as np
import pytest

from moodmap.research.datasets import load_emomusic
from moodmap.research.datasets.render import render
from moodmap.research.datasets.score import AROUSAL_WEIGHTS, MODES, compose, rate, song_params
from moodmap.research.datasets.synth import SynthSpec, plan, write_synth_dataset
from moodmap.core.features import logmel
from moodmap.core.audio import load_excerpts


def test_same_seed_same_song_whatever_the_set_size():
    small, large = plan(SynthSpec(songs=3, seed=5)), plan(SynthSpec(songs=30, seed=5))
    assert small == large[:3]
    assert plan(SynthSpec(songs=3, seed=6)) != small


def test_rendering_is_deterministic():
    params = song_params("1", 42)
    notes, hits = compose(params, 10.0)
    a = render(params, notes, hits, 10.0, 16000)
    b = render(params, *compose(params, 10.0), 10.0, 16000)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (160000,) and 0.85 < np.max(np.abs(a)) <= 0.9 + 1e-6


def test_labels_follow_the_musical_parameters():
    songs = [song_params(str(i), i) for i in range(400)]
    truth_a = np.array([rate(p).arousal_true for p in songs])
    truth_v = np.array([rate(p).valence_true for p in songs])
    assert np.corrcoef([p.tempo for p in songs], truth_a)[0, 1] > 0.4
    assert np.corrcoef([MODES[p.mode][0] for p in songs], truth_v)[0, 1] > 0.5
    assert abs(np.corrcoef([p.tempo for p in songs], truth_v)[0, 1]) < 0.15
    assert sum(AROUSAL_WEIGHTS.values()) == pytest.approx(1.0)


def test_annotator_noise_looks_like_crowd_ratings():
    ratings = [rate(song_params(str(i), i)) for i in range(400)]
    means = np.array([[r.valence_mean, r.arousal_mean] for r in ratings])
    sds = np.array([[r.valence_std, r.arousal_std] for r in ratings])
    assert np.all((means >= 1) & (means <= 9))
    assert 4.3 < means.mean() < 5.7 and 0.9 < means.std(axis=0).min()
    assert 1.0 < sds.mean() < 2.0  # emoMusic: 1.56 (V) / 1.64 (A)
    truth = np.array([[r.valence_true, r.arousal_true] for r in ratings])
    assert 0.1 < np.abs(means - truth).mean() < 0.8


def test_faster_louder_songs_sound_busier():
    """Arousal must be audible: more onsets (spectral flux) in high-arousal songs."""
    calm = song_params("c", 1).__class__(**{**song_params("c", 1).__dict__, "tempo": 0.05, "density": 0.05,
                                             "loudness": 0.05, "brightness": 0.1})
    busy = calm.__class__(**{**calm.__dict__, "tempo": 0.95, "density": 0.95, "loudness": 0.95, "brightness": 0.9})

    def flux(p):
        spec = logmel(render(p, *compose(p, 15.0), 15.0, 16000))
        return np.mean(np.maximum(np.diff(spec, axis=1), 0))

    assert flux(busy) > 1.5 * flux(calm)


def test_written_set_loads_as_emomusic(synth_set):
    data = load_emomusic(synth_set)
    assert len(data.songs) == 12 and not data.problems
    assert {s.split for s in data.songs} == {"train", "test"}
    assert all(0.1 <= s.valence <= 0.9 and s.valence_sd is not None for s in data.songs)
    x, windows = load_excerpts(data.songs[0].path)
    assert x.shape == (3, 240000)


def test_rerun_keeps_finished_clips(tmp_path):
    spec = SynthSpec(songs=2, seed=1, seconds=5.0)
    first = write_synth_dataset(tmp_path, spec, jobs=1)
    stamp = first[0].stat().st_mtime_ns
    first[1].unlink()
    again = write_synth_dataset(tmp_path, spec, jobs=1)
    assert again[0].stat().st_mtime_ns == stamp and again[1].exists()


def test_a_synthetic_set_says_how_it_was_made_and_a_real_one_does_not(synth_set, tmp_path):
    from moodmap.core.provenance import dataset_record, label

    record = dataset_record("emomusic", synth_set)
    assert record["synthetic"] and record["synth"]["renderer"] == "numpy" and len(record["synth"]["synth_json_sha256"]) == 64
    assert label(record) == "emomusic (synthetic, `moodmap synth --renderer numpy`: wavetable voices)"
    assert label(dataset_record("emomusic", tmp_path)) == "emomusic"


def test_synthetic_mp3s_decode_without_decoder_complaints(tmp_path, capfd):
    """libmpg123 printed "part2_3_length too large" on every decode of the 22.05 kHz mp3s
    libsndfile's LAME wrote; a user saw those lines on `moodmap predict` of a synth song."""
    from moodmap.core.audio import load_audio

    paths = write_synth_dataset(tmp_path / "s", SynthSpec(songs=2, seed=1, seconds=20, audio_format="mp3"), jobs=1)
    capfd.readouterr()
    for path in paths:
        assert len(load_audio(path)) > 0
    assert capfd.readouterr().err == ""
