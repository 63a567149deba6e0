"""Tempo twins (issue 33): each synthetic song played again at a seeded other tempo, labelled by
the generator's own ``rate`` of the changed parameters."""
import csv
from dataclasses import asdict

import numpy as np
import pytest
import soundfile as sf

from moodmap.research.datasets import load_manifest
from moodmap.research.datasets.score import BPM_BASE, BPM_SPAN, compose, rate, song_params
from moodmap.research.datasets.synth import SynthSpec, plan, write_synth_dataset
from moodmap.research.datasets.tempo_twins import (
    RATE_RANGES,
    faster_score,
    tempo_twin,
    twin_methods,
    twin_rate,
    write_tempo_twins,
)

SPEC = SynthSpec(songs=3, seed=4, seconds=3.0)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tempo-twins")
    write_synth_dataset(root / "set", SPEC, jobs=1)
    return root


def twin_set(root, how):
    manifest = write_tempo_twins(root / "set", root / how, how=how, jobs=1)
    songs = {s.song_id: s for s in load_manifest(manifest, "1-9").songs}
    with open(root / how / "synth_params.csv", newline="") as handle:
        params = {row["song_id"]: row for row in csv.DictReader(handle)}
    with open(root / how / "tempo_twins.csv", newline="") as handle:
        table = {row["song_id"]: row for row in csv.DictReader(handle)}
    return songs, params, table


def test_rates_are_seeded_never_near_one_and_keep_the_generator_range():
    songs = [song_params(str(i), 1000 + i) for i in range(400)]
    rates = np.array([twin_rate(p) for p in songs])
    assert np.array_equal(rates, [twin_rate(p) for p in songs])
    slower = (rates >= 0.75 - 1e-9) & (rates <= 1 / 1.1 + 1e-9)  # up to 1/1.1 where a faster rate was inverted
    faster = (rates >= 1.1 - 1e-9) & (rates <= 1 / 0.75 + 1e-9)
    assert (slower | faster).all()
    assert (rates > 1).mean() == pytest.approx(0.5, abs=0.1)
    bpm = np.array([p.bpm for p in songs]) * rates
    assert (bpm >= BPM_BASE).all() and (bpm <= BPM_BASE + BPM_SPAN).all()
    assert RATE_RANGES == ((0.75, 0.9), (1.1, 1.33))


def test_a_tempo_twin_differs_in_bpm_only_and_is_labelled_by_rate(tiny_set):
    songs, params, table = twin_set(tiny_set, "render")
    with open(tiny_set / "render" / "manifest.csv", newline="") as handle:
        manifest = {row["song_id"]: row for row in csv.DictReader(handle)}
    assert len(songs) == 2 * SPEC.songs
    for original in plan(SPEC):
        r = twin_rate(original)
        twin = tempo_twin(original, r)
        assert twin.bpm == pytest.approx(original.bpm * r)
        row, before = params["t" + original.song_id], params[original.song_id]
        changed = {k for k in asdict(original) if row[k] != before[k]}
        assert changed == {"song_id", "tempo"} and row["bpm"] != before["bpm"]
        expected = rate(twin)
        assert float(manifest["t" + original.song_id]["arousal"]) == pytest.approx(expected.arousal_mean, abs=0.005)
        assert float(manifest["t" + original.song_id]["valence"]) == pytest.approx(expected.valence_mean, abs=0.005)
        assert songs["t" + original.song_id].valence == songs[original.song_id].valence
        assert float(row["arousal_true"]) == pytest.approx(expected.arousal_true, abs=1e-4)
        assert float(table[original.song_id]["rate"]) == pytest.approx(r, abs=1e-4)


def test_the_faster_of_a_pair_has_the_higher_arousal(tiny_set):
    songs, params, _ = twin_set(tiny_set, "render")
    for original in plan(SPEC):
        a, b = params[original.song_id], params["t" + original.song_id]
        fast, slow = (b, a) if float(b["bpm"]) > float(a["bpm"]) else (a, b)
        assert float(fast["arousal_true"]) > float(slow["arousal_true"])
        assert songs[fast["song_id"]].arousal >= songs[slow["song_id"]].arousal
        assert float(fast["valence_true"]) == float(slow["valence_true"])


def test_the_rendered_twin_plays_the_same_notes_r_times_as_fast():
    params = song_params("1", 77)
    notes, hits = compose(params, 10.0)
    fast_notes, fast_hits = faster_score(params, 10.0, 1.25)
    assert [n.pitch for n in fast_notes] == [n.pitch for n in notes]
    assert [n.onset / 1.25 for n in notes] == [n.onset for n in fast_notes]
    assert [n.duration / 1.25 for n in notes] == [n.duration for n in fast_notes]
    assert [h.onset / 1.25 for h in hits] == [h.onset for h in fast_hits]


@pytest.mark.parametrize("how", ["render", "vocoder"])
def test_a_twin_lasts_the_original_length_over_the_rate_and_pairs_by_group(tiny_set, how):
    songs, _, table = twin_set(tiny_set, how)
    for original in plan(SPEC):
        row = table[original.song_id]
        assert row["how"] == how
        twin, source = songs["t" + original.song_id], songs[original.song_id]
        assert twin.group_key == source.group_key == original.song_id
        expected = sf.info(source.path).duration / float(row["rate"])
        assert sf.info(twin.path).duration == pytest.approx(expected, abs=0.03)


def test_mixed_makes_half_the_twins_each_way():
    songs = [song_params(str(i), i) for i in range(10)]
    methods = twin_methods(songs, "mixed", 11)
    assert methods.count("vocoder") == methods.count("render") == 5
    assert methods == twin_methods(songs, "mixed", 11) != twin_methods(songs, "mixed", 12)
    assert twin_methods(songs, "render", 11) == ["render"] * 10
