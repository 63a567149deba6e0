"""The real-music check's machinery (benchmarks/real_music.py, benchmarks/metamorphic.py) on audio and MIDI
made here, scored by toy predictors whose answers are known: no Debian packages, no FluidSynth, no model."""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import metamorphic as mm  # noqa: E402
import real_music  # noqa: E402

mido = pytest.importorskip("mido")
RATE = real_music.WORK_RATE
SECONDS = 16.0  # one 15 s window per variant


def notes(seconds: float, seed: int, beat: float = 0.5) -> np.ndarray:
    """Decaying harmonic tones on a steady beat, random pitches: a toy piece with clear onsets."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(beat * RATE)) / RATE
    pieces = []
    for _ in range(int(seconds / beat) + 1):
        f = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        tone = sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 8))
        pieces.append(tone * np.exp(-t * 6.0) * np.minimum(1.0, t / 0.005))
    audio = np.concatenate(pieces)[:int(seconds * RATE)]
    return (0.8 * audio / np.abs(audio).max()).astype(np.float32)


@dataclass(frozen=True)
class ToyTrack:
    name: str
    identity: str
    seed: int

    def read_span(self, seconds: float, workdir: Path) -> np.ndarray:
        return notes(seconds, self.seed)


class ToyModels:
    """The interface measure_audio uses, with toy predictors of the windows as moodmap loads them."""

    def __init__(self, scorers: dict):
        self.resolved, self.scorers, self.stored, self.kept = dict.fromkeys(scorers), scorers, {}, {}

    def cached(self, model, *parts):
        return None

    def store(self, value, model, *parts):
        self.stored[(model, *parts)] = value

    def save(self):
        pass

    def windows(self, model, wav):  # kept per path, as Models keeps them, until forget()
        from moodmap.core.audio import load_excerpts
        from moodmap.core.config import FeatureConfig
        from moodmap.inference.predict import tagging_config
        if str(wav) not in self.kept:
            self.kept[str(wav)] = load_excerpts(wav, tagging_config(FeatureConfig()))[0]
        return self.kept[str(wav)]

    def score(self, model, windows):
        return self.scorers[model](windows)

    def forget(self):
        self.kept.clear()


def loudness(windows):  # arousal = RMS of what the model would see
    return 0.5, mm.rms(windows)


def brightness(windows):  # arousal = spectral centroid / Nyquist
    spectrum = np.abs(np.fft.rfft(windows, axis=1))
    return 0.5, float((spectrum * np.arange(spectrum.shape[1])).sum() / spectrum.sum() / spectrum.shape[1])


def tempo(windows):  # arousal = estimated beats a minute / 200 (an onset count would not do: the phase
    import librosa  # vocoder's smearing adds spurious onsets to a slowed-down piece)
    return 0.5, float(np.mean([librosa.feature.tempo(y=w, sr=16000)[0] / 200.0 for w in windows]))


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    tracks = [ToyTrack(f"toy{i}", f"toy{i}", i) for i in range(3)]
    models = ToyModels({"loudness": loudness, "brightness": brightness, "tempo": tempo})
    return real_music.measure_audio(tracks, models, tmp_path_factory.mktemp("work"), seconds=SECONDS)


def row(measured, model, relation):
    rows = real_music.relation_table(measured, mm.AUDIO_RELATIONS, model, seed=0)
    return next(r for r in rows if r["relation"] == relation)


def test_every_track_is_scored_from_its_own_audio(measured):
    """The variants of every track are written to the same paths: what was kept of the last track's
    files must not stand in for this one's."""
    originals = [per["original"]["brightness"][1] for per in measured.values()]
    assert len(set(np.round(originals, 6))) == 3


def test_driven_audio_reaches_a_loudness_predictor_louder_at_the_same_peak(measured):
    driven = row(measured, "loudness", "driven")
    assert driven["n"] == 3 and driven["share_right"] == 1.0 and driven["share_ci"] == [1.0, 1.0]
    assert driven["mean_delta"] > 0.05 and 0 < driven["mean_ci"][0] <= driven["mean_delta"] <= driven["mean_ci"][1]


def test_rms_matched_driven_audio_leaves_a_loudness_predictor_unmoved(measured):
    assert abs(row(measured, "loudness", "driven_rms")["mean_delta"]) < 1e-5


def test_low_pass_darkens_a_brightness_predictor_on_every_track(measured):
    darker = row(measured, "brightness", "darker")
    assert darker["share_right"] == 1.0 and darker["mean_ci"][1] < 0


def test_tempo_edits_move_a_tempo_estimator_their_way(measured):
    assert row(measured, "tempo", "faster")["share_right"] == 1.0
    assert row(measured, "tempo", "slower")["share_right"] == 1.0
    assert row(measured, "tempo", "faster_vs_slower")["mean_delta"] > 0.15  # 120 bpm × (1.25 − 0.8) / 200 ≈ 0.27


@pytest.mark.skipif(not shutil.which("rubberband"), reason="Debian rubberband-cli is not installed")
def test_rubber_band_tempo_edits_move_a_tempo_estimator_their_way(measured):
    assert row(measured, "tempo", "faster_rb")["share_right"] == 1.0
    assert row(measured, "tempo", "slower_rb")["share_right"] == 1.0


def test_a_relation_against_the_prediction_fails_the_share():
    down = mm.Relation("up_is_wrong", "", "arousal", -1, "driven")
    measured_up = {f"t{i}": {"original": {"m": [0.5, 0.4]}, "driven": {"m": [0.5, 0.4 + 0.01 * (i + 1)]}}
                   for i in range(5)}
    result = mm.summarize(mm.deltas(measured_up, down, "m"), down.expected)
    assert result["share_right"] == 0.0 and result["share_ci"] == [0.0, 0.0]
    assert result["mean_delta"] == pytest.approx(0.03)


def test_share_counts_no_move_as_wrong_and_intervals_repeat_with_the_seed():
    deltas = np.array([0.1] * 6 + [-0.1] * 2 + [0.0] * 2)
    first, again = mm.summarize(deltas, +1, seed=3), mm.summarize(deltas, +1, seed=3)
    assert first["share_right"] == 0.6 and first["mean_delta"] == pytest.approx(0.04)
    assert first == again
    assert first["share_ci"][0] < 0.6 < first["share_ci"][1] and first["mean_ci"][0] < 0.04 < first["mean_ci"][1]
    assert mm.summarize(deltas, -1, seed=3)["share_right"] == 0.2


def piece(pitches: list[int], beat: float = 0.5, drums: bool = True):
    """A one-track MIDI piece: ``pitches`` one a beat, a chord of each pitch + 4 + 7, and a drum (E2, 40) per beat."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=int(beat * 1_000_000), time=0))
    for p in pitches:
        track.append(mido.Message("note_on", channel=0, note=p, velocity=80, time=0))
        if drums:
            track.append(mido.Message("note_on", channel=9, note=40, velocity=80, time=0))
        track.append(mido.Message("note_off", channel=0, note=p, velocity=0, time=480))
        if drums:
            track.append(mido.Message("note_off", channel=9, note=40, velocity=0, time=0))
    return midi


C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 64, 67, 72, 71, 67, 65, 62, 60]
A_MINOR = [69, 71, 72, 74, 76, 77, 80, 81, 76, 72, 69, 72, 76, 81, 80, 76, 74, 71, 69]


def notes_of(midi, channel=0):
    return [m.note for m in mido.merge_tracks(midi.tracks) if m.type == "note_on" and m.channel == channel]


def test_key_finder_names_c_major_and_a_minor():
    assert mm.detect_key(mm.pitch_class_durations(mm.midi_notes(piece(C_MAJOR))))[:2] == (0, "major")
    assert mm.detect_key(mm.pitch_class_durations(mm.midi_notes(piece(A_MINOR))))[:2] == (9, "minor")


def test_parallel_minor_lowers_degrees_3_6_7_and_leaves_the_drums():
    variants, found = mm.midi_variants(piece(C_MAJOR))
    assert found["mode"] == "major" and variants["major"] is variants["original"]
    minor = notes_of(variants["minor"])
    assert minor == [p - 1 if p % 12 in (4, 9, 11) else p for p in C_MAJOR]
    assert notes_of(variants["minor"], channel=9) == [40] * len(C_MAJOR)


def test_parallel_major_of_a_minor_piece_raises_degrees_3_6_7():
    variants, found = mm.midi_variants(piece(A_MINOR))
    assert found["mode"] == "minor" and variants["minor"] is variants["original"]
    assert notes_of(variants["major"]) == [p + 1 if (p - 9) % 12 in (3, 8, 10) else p for p in A_MINOR]


def test_dissonance_octave_and_tempo_edits():
    variants, _ = mm.midi_variants(piece(C_MAJOR))
    dissonant = notes_of(variants["dissonant"])
    assert len(dissonant) == 2 * len(C_MAJOR)
    assert all(b - a in (1, 6) for a, b in zip(dissonant[::2], dissonant[1::2]))
    assert notes_of(variants["octave_down"]) == [p - 12 for p in C_MAJOR]
    assert notes_of(variants["octave_down"], channel=9) == [40] * len(C_MAJOR)
    length = variants["original"].length
    assert variants["faster"].length == pytest.approx(length / mm.FASTER, rel=1e-3)
    assert variants["slower"].length == pytest.approx(length / mm.SLOWER, rel=1e-3)


def test_truncated_piece_stops_at_the_cut_with_no_note_left_sounding():
    cut = real_music.truncated(piece(C_MAJOR), 3.2)
    assert cut.length == pytest.approx(3.2, abs=0.01)
    ons = sum(m.type == "note_on" and m.velocity > 0 for m in cut if not m.is_meta)
    offs = sum(m.type == "note_off" or (m.type == "note_on" and m.velocity == 0) for m in cut if not m.is_meta)
    assert ons == offs == 2 * 7  # notes starting at 0, 0.5, …, 3.0 s, each with its drum hit


def test_the_check_scores_a_rewritten_wav_anew_once_told_to_forget(tmp_path):
    """Models keep the windows and log-mels of a file for the next model with the same layout; the check
    writes every track's variants to the same paths, so after forget() a path must be read again."""
    from moodmap.inference.predict import predict_file

    models = real_music.Models(["improved"], tmp_path / "cache.json")
    wav = real_music.write_wav(tmp_path / "variant.wav", 0.2 * notes(SECONDS, 1), RATE)
    quiet_tones = models.score("improved", models.windows("improved", wav))
    models.forget()
    real_music.write_wav(wav, np.random.default_rng(0).uniform(-0.9, 0.9, int(SECONDS * RATE)).astype(np.float32), RATE)
    loud_noise = models.score("improved", models.windows("improved", wav))
    expected = predict_file(wav, models.resolved["improved"].predictor)
    assert loud_noise == pytest.approx((expected.valence, expected.arousal), abs=1e-5)
    assert quiet_tones != pytest.approx(loud_noise, abs=1e-3)
