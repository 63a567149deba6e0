"""The soundfont renderer: a valid MIDI file of the score, mood-led instruments, FluidSynth audio."""
import shutil

import numpy as np
import pytest
import soundfile as sf

from moodmap.research.datasets import soundfont
from moodmap.research.datasets.score import compose, song_params
from moodmap.research.datasets.soundfont import CHANNELS, DRUM_NOTES, instrumentation, midi_file
from moodmap.research.datasets.synth import SynthSpec, plan, write_synth_dataset
from moodmap.core.errors import MoodmapError

needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None or not any(
    __import__("os").path.isfile(p) for p in soundfont.SOUNDFONTS),
    reason="fluidsynth or a GM soundfont missing (`make test` installs them via `make soundfont`)")


def _read_vlq(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, i


def parse_midi(data: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """A strict little reader for the files we write: (ticks per beat, [(absolute tick, message)])."""
    assert data[:4] == b"MThd" and int.from_bytes(data[4:8], "big") == 6
    assert int.from_bytes(data[8:10], "big") == 0 and int.from_bytes(data[10:12], "big") == 1
    division = int.from_bytes(data[12:14], "big")
    assert data[14:18] == b"MTrk"
    length = int.from_bytes(data[18:22], "big")
    track, i, now, events = data[22:22 + length], 0, 0, []
    assert len(track) == length
    while i < len(track):
        delta, i = _read_vlq(track, i)
        now += delta
        status = track[i]
        if status == 0xFF:
            size, j = _read_vlq(track, i + 2)
            events.append((now, track[i:j + size]))
            i = j + size
        else:
            size = 2 if status >> 4 in (0xC, 0xD) else 3
            events.append((now, track[i:i + size]))
            i += size
    assert events[-1][1] == b"\xff\x2f\x00"
    return division, events


def test_midi_file_holds_every_note_and_hit_at_its_time():
    params = song_params("9", 1234)
    notes, hits = compose(params, 12.0)
    division, events = parse_midi(midi_file(params, notes, hits))
    ticks_per_second = division * 2  # 120 bpm tempo meta
    ons = [(t, m) for t, m in events if m[0] >> 4 == 0x9]
    rough = sum(n.part == "pad" for n in notes) if 40.0 * (1 - params.consonance) ** 1.5 > 5 else 0
    assert len(ons) == len(notes) + len(hits) + rough
    lead = sorted(n.onset for n in notes if n.part == "lead")
    lead_ticks = sorted(t for t, m in ons if m[0] & 0x0F == CHANNELS["lead"])
    assert np.allclose(np.array(lead_ticks) / ticks_per_second, lead, atol=1 / ticks_per_second)
    drums = [m[1] for _, m in ons if m[0] & 0x0F == 9]
    assert set(drums) <= set(DRUM_NOTES.values()) and len(drums) == len(hits)
    programs = {m[0] & 0x0F: m[1] for _, m in events if m[0] >> 4 == 0xC}
    chosen = instrumentation(params)
    assert programs[CHANNELS["pad"]] == chosen["pad"] and programs[CHANNELS["lead"]] == chosen["lead"]
    offs = sum(1 for _, m in events if m[0] >> 4 == 0x8)
    assert offs == len(ons)


def test_instruments_follow_the_mood():
    songs = plan(SynthSpec(songs=600, seed=5))
    tense = [p for p in songs if p.valence_score < 0.4 and p.arousal_score > 0.62]
    calm_sad = [p for p in songs if p.valence_score < 0.4 and p.arousal_score < 0.38]
    guitars = lambda group: np.mean([instrumentation(p)["pad"] in (29, 30) for p in group])  # noqa: E731
    strings_piano = lambda group: np.mean([instrumentation(p)["pad"] in (48, 49, 52, 89, 0, 4) for p in group])  # noqa: E731
    assert len(tense) > 10 and len(calm_sad) > 10
    assert guitars(tense) > 0.3 and guitars(calm_sad) < 0.15
    assert strings_piano(calm_sad) > 0.7 and strings_piano(tense) < 0.15
    assert instrumentation(songs[0]) == instrumentation(songs[0])


def test_missing_fluidsynth_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(soundfont.shutil, "which", lambda name: None)
    with pytest.raises(MoodmapError, match="make soundfont"):
        write_synth_dataset(tmp_path / "set", SynthSpec(songs=1, renderer="soundfont"), jobs=1)
    assert not (tmp_path / "set" / "clips_45seconds").exists()


def test_a_set_refuses_songs_made_another_way(tmp_path):
    write_synth_dataset(tmp_path, SynthSpec(songs=1, seconds=3.0), jobs=1)
    write_synth_dataset(tmp_path, SynthSpec(songs=2, seconds=3.0), jobs=1)  # growing is fine
    with pytest.raises(MoodmapError, match="generated differently.*seconds 3.0 → 4.0"):
        write_synth_dataset(tmp_path, SynthSpec(songs=2, seconds=4.0), jobs=1)


@needs_fluidsynth
def test_soundfont_renderer_writes_real_audio(tmp_path):
    paths = write_synth_dataset(tmp_path, SynthSpec(songs=2, seed=11, seconds=6.0, renderer="soundfont"), jobs=1)
    clips = [sf.read(p, dtype="float32") for p in paths]
    for audio, rate in clips:
        assert rate == 22050 and len(audio) == 6 * 22050
        assert 0.85 < np.abs(audio).max() <= 0.9 + 1e-3
        assert np.sqrt(np.mean(audio[rate:] ** 2)) > 0.02  # not silent after the first second
    assert not np.allclose(clips[0][0], clips[1][0])
    params = plan(SynthSpec(songs=1, seed=11))[0]
    notes, hits = compose(params, 6.0)
    again = soundfont.render_soundfont(params, notes, hits, 6.0, 22050)
    stored, _ = clips[0]
    assert np.abs(again - stored).max() < 1e-3  # deterministic (up to 16-bit FLAC)
    assert '"renderer": "soundfont"' in (tmp_path / "synth.json").read_text()
