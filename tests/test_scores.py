"""Real compositions played and labelled as the generator's songs are (research/datasets/scores.py):
what is read from the score, what the playing sets, and that the label is the generator's ``rate``
of exactly what is played."""
import csv
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("music21")

from moodmap.core.provenance import synth_record  # noqa: E402
from moodmap.research.datasets import load_manifest  # noqa: E402
from moodmap.research.datasets.score import MODES, VALENCE_WEIGHTS, rate, song_params  # noqa: E402
from moodmap.research.datasets.scores import (  # noqa: E402
    MAX_BEATS,
    MELODY_CENTRE,
    MELODY_SPAN,
    MINOR_MOVED,
    ScoreSpec,
    candidates,
    melody_centre,
    onsets_per_beat,
    parallel_mode,
    performance,
    piece_params,
    read_piece,
    write_score_set,
)

CHORALE = "bach/bwv66.6"  # "Christ unser Herr zum Jordan kam": F-sharp minor, four parts


@pytest.fixture(scope="module")
def chorale():
    return read_piece(CHORALE)


def test_a_piece_is_read_with_its_voices_and_the_key_of_its_opening(chorale):
    assert {n.voice for n in chorale.notes} == {"lead", "pad", "bass"}
    assert (chorale.mode, chorale.tonic) == ("aeolian", 6) and chorale.correlation > 0.75
    assert chorale.beats <= MAX_BEATS
    lead = [n.pitch for n in chorale.notes if n.voice == "lead"]
    bass = [n.pitch for n in chorale.notes if n.voice == "bass"]
    assert np.mean(lead) > np.mean(bass) + 12  # the top part is the soprano, the bottom one the bass


def test_only_the_opening_is_read():
    short = read_piece(CHORALE, max_beats=8.0)
    assert short.beats <= 8.0 and max(n.beat for n in short.notes) < 8.0
    assert len(short.notes) < len(read_piece(CHORALE).notes)


def test_the_parallel_mode_moves_degrees_3_6_and_7_and_nothing_else(chorale):
    twin = parallel_mode(chorale)
    assert twin.mode == "ionian" and twin.tonic == chorale.tonic
    moved = 0
    for before, after in zip(chorale.notes, twin.notes):
        degree = (before.pitch - chorale.tonic) % 12
        assert after.pitch - before.pitch == (1 if degree in MINOR_MOVED else 0)
        moved += degree in MINOR_MOVED
    assert moved > 10
    again = parallel_mode(twin)  # back to minor: the major's degrees 3, 6, 7 down
    assert again.mode == "aeolian" and all(
        b.pitch - a.pitch == (-1 if (a.pitch - twin.tonic) % 12 in (4, 9, 11) else 0)
        for a, b in zip(twin.notes, again.notes))


def test_the_label_is_read_from_what_is_played(chorale):
    drawn = song_params("s1", 42)
    params, stretch, shift = piece_params(chorale, "s1", 42)
    assert params.mode == "aeolian"  # from the score, not the draw
    assert (params.tempo, params.loudness, params.brightness, params.consonance) == \
        (drawn.tempo, drawn.loudness, drawn.brightness, drawn.consonance)  # drawn as the generator draws them
    assert params.density == pytest.approx(np.clip((onsets_per_beat(chorale) / stretch - 0.5) / 3.5, 0, 1))
    assert params.register == pytest.approx(np.clip((melody_centre(chorale) + shift - MELODY_CENTRE) / MELODY_SPAN, 0, 1))
    assert abs(params.register - drawn.register) < 1 / MELODY_SPAN  # the transposition reaches the drawn register
    assert 40 <= params.bpm / stretch <= 200  # the chorale's own tempo stays one it could be sung at


def test_a_performance_plays_the_piece_at_the_tempo_and_in_the_register_of_its_label(chorale):
    params, stretch, shift = piece_params(chorale, "s1", 42)
    score_beat = stretch * 60.0 / params.bpm
    seconds = 1.5 * chorale.beats * score_beat
    notes, hits = performance(chorale, replace(params, consonance=1.0), stretch, shift, seconds=seconds)
    first = [n for n in chorale.notes if n.voice == "lead"][:5]
    played = [n for n in notes if n.part == "lead"][:5]
    assert [p.onset for p in played] == pytest.approx([n.beat * score_beat for n in first])
    assert [p.pitch for p in played] == [n.pitch + shift for n in first]
    assert max(n.onset for n in notes) < seconds and len(notes) > len(chorale.notes)  # looped to fill the clip
    rough, _ = performance(chorale, replace(params, consonance=0.0), stretch, shift, seconds=seconds)
    extra = len(rough) - len(notes)
    bars = int(np.ceil(seconds / (4 * 60.0 / params.bpm)))
    assert bars - 2 <= extra <= bars  # a rough note in (nearly) every bar when nothing is consonant
    assert len(hits) > 0 if params.loudness * 0.7 + params.tempo * 0.3 >= 0.25 else hits == []


def test_composers_take_turns_in_the_seeded_order():
    order = candidates(ScoreSpec(pieces=4, composers=("bach", "palestrina")))
    assert [w.split("/")[0] for w in order[:6]] == ["bach", "palestrina"] * 3
    assert order == candidates(ScoreSpec(pieces=4, composers=("bach", "palestrina")))
    assert order != candidates(ScoreSpec(pieces=4, seed=1, composers=("bach", "palestrina")))


def test_a_small_set_is_written_labelled_by_rate_and_resumes(tmp_path):
    spec = ScoreSpec(pieces=2, seconds=4.0, sample_rate=16000, mode_twins=True, composers=("bach",))
    manifest = write_score_set(tmp_path / "set", spec, jobs=1)
    songs = load_manifest(manifest, "1-9").songs
    assert len(songs) == 4 and len({s.group for s in songs}) == 2
    assert synth_record(tmp_path / "set")["renderer"] == "soundfont"  # as model cards and train will say
    with open(tmp_path / "set" / "synth_params.csv", newline="") as handle:
        params = {row["song_id"]: row for row in csv.DictReader(handle)}
    for song in songs:
        row = params[song.song_id]
        drawn = replace(song_params(song.song_id, int(row["seed"])), **{
            k: float(row[k]) for k in ("tempo", "density", "loudness", "brightness", "consonance", "register")},
            mode=row["mode"])
        assert song.valence == pytest.approx(rate(drawn).valence_mean / 10, abs=0.006)
        audio, rate_hz = sf.read(song.path)
        assert rate_hz == 16000 and len(audio) == 4 * 16000 and np.abs(audio).max() > 0.5
    for group in {s.group for s in songs}:
        original, twin = sorted((s for s in songs if s.group == group), key=lambda s: s.song_id.startswith("m"))
        assert twin.song_id == "m" + original.song_id and twin.arousal == original.arousal
        mode_term = VALENCE_WEIGHTS["mode"] * (MODES[params[twin.song_id]["mode"]][0]
                                               - MODES[params[original.song_id]["mode"]][0])
        assert float(params[twin.song_id]["valence_true"]) - float(params[original.song_id]["valence_true"]) \
            == pytest.approx(8 * mode_term, abs=1e-3)
    with open(tmp_path / "set" / "skipped.csv", newline="") as handle:
        skipped = list(csv.reader(handle))
    assert skipped[0] == ["work", "reason"] and all(len(row) == 2 for row in skipped)
    made = {p: p.stat().st_mtime_ns for p in (tmp_path / "set" / "clips").glob("*.flac")}
    assert write_score_set(tmp_path / "set", spec, jobs=1).read_text() == manifest.read_text()
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "set" / "clips").glob("*.flac")} == made  # nothing redone


def test_any_instruments_are_drawn_regardless_of_mood_and_reach_the_midi_file(chorale):
    from moodmap.research.datasets.scores import ANY_BASS_PROGRAMS, ANY_PROGRAMS, any_programs
    from moodmap.research.datasets.soundfont import CHANNELS, instrumentation, midi_file

    programs = any_programs(7)
    assert programs == any_programs(7) and programs["lead"] in ANY_PROGRAMS and programs["bass"] in ANY_BASS_PROGRAMS
    assert len({tuple(any_programs(seed).values()) for seed in range(20)}) > 15
    params, stretch, shift = piece_params(chorale, "s1", 42)
    notes, hits = performance(chorale, params, stretch, shift, seconds=5.0)
    chosen = {"lead": 6, "pad": 52, "bass": 33}  # harpsichord, choir, picked bass
    data = midi_file(params, notes, hits, chosen)
    for part, program in chosen.items():
        assert bytes([0xC0 | CHANNELS[part], program]) in data
    if instrumentation(params)["lead"] != 6:
        assert bytes([0xC0 | CHANNELS["lead"], 6]) not in midi_file(params, notes, hits)  # the palette otherwise


def test_an_unknown_instrument_choice_is_refused_before_any_work(tmp_path):
    from moodmap.core.errors import MoodmapError

    with pytest.raises(MoodmapError, match="instruments must be one of palette, any"):
        write_score_set(tmp_path / "set", ScoreSpec(pieces=1, instruments="orchestra"))
    assert not (tmp_path / "set").exists()
