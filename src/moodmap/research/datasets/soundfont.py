"""Synthetic music, part 2b: the same scores played by sampled instruments (FluidSynth + a GM soundfont).

The numpy renderer's wavetables teach a model what *wavetables* sound like; real
recordings are pianos, strings, guitars and drum kits. This renderer writes each score
as a Standard MIDI File and has ``fluidsynth`` play it with a General MIDI soundfont
(Debian ``fluidsynth`` + ``fluid-soundfont-gm``; ``make soundfont`` installs them).
Instrumentation follows the mood parameters, loosely, as in real music: strings, harp
and piano for calm songs, brass and bright pianos for happy energetic ones, distorted
guitars and saw leads for tense ones — drawn at random within a palette, and from a
neighbouring palette near a boundary, so the instrument is a cue and not the answer.
Roughness (low consonance) is a detuned double of the chords; brightness and drive
are the same post-processing as the numpy renderer; calm songs get more reverb send.

Examples
--------
>>> from moodmap.research.datasets.score import song_params
>>> from moodmap.research.datasets.soundfont import instrumentation
>>> sorted(instrumentation(song_params("1", 5)))
['bass', 'lead', 'pad']
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ...core.errors import MoodmapError
from .render import finish, tone_shape
from .score import Hit, Note, SongParams

SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
              "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf3/default-GM.sf3")
INSTALL_HINT = "run `make soundfont` (Debian: apt-get install fluidsynth fluid-soundfont-gm)"

# General MIDI programs (0-based) per mood quadrant and part.
PALETTES = {
    "calm-sad": {"pad": (48, 49, 89, 52), "lead": (42, 68, 71, 0), "bass": (32, 43)},
    "calm-happy": {"pad": (0, 4, 46, 24), "lead": (73, 11, 8, 79), "bass": (32, 33)},
    "energetic-happy": {"pad": (1, 16, 61, 27), "lead": (56, 65, 80, 22), "bass": (33, 34, 38)},
    "energetic-tense": {"pad": (30, 29, 62, 19), "lead": (81, 30, 29, 84), "bass": (34, 38, 39)},
}
CHANNELS = {"pad": 0, "lead": 1, "bass": 2, "rough": 3}
VOLUMES = {"pad": 80, "lead": 110, "bass": 100, "rough": 60}
DRUM_CHANNEL, DRUM_NOTES = 9, {"kick": 36, "snare": 38, "hat": 42}
TICKS_PER_BEAT, MICROSECONDS_PER_BEAT = 480, 500_000  # 960 ticks a second


def instrumentation(params: SongParams) -> dict[str, int]:
    """GM program of each part, drawn from the palette of the song's (slightly blurred) mood."""
    rng = np.random.default_rng([params.seed, 4])
    valence = params.valence_score + rng.normal(0.0, 0.12)
    arousal = params.arousal_score + rng.normal(0.0, 0.12)
    energy = "energetic" if arousal >= 0.5 else "calm"
    feeling = ("happy" if valence >= 0.5 else "sad") if energy == "calm" else ("happy" if valence >= 0.5 else "tense")
    palette = PALETTES[f"{energy}-{feeling}"]
    return {part: int(rng.choice(programs)) for part, programs in palette.items()}


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _ticks(seconds: float) -> int:
    return int(round(seconds * TICKS_PER_BEAT * 1_000_000 / MICROSECONDS_PER_BEAT))


def midi_file(params: SongParams, notes: list[Note], hits: list[Hit], programs: dict[str, int] | None = None) -> bytes:
    """The score as a type-0 Standard MIDI File: programs, mix and effect sends, notes, drums."""
    programs = programs or instrumentation(params)  # given: a part's GM program chosen by the caller
    calm = 1.0 - 0.5 * (params.tempo + params.loudness)
    detune = 40.0 * (1.0 - params.consonance) ** 1.5  # cents, as the numpy renderer's
    events: list[tuple[int, int, bytes]] = []  # (tick, order: offs before ons, message)
    for part, channel in CHANNELS.items():
        program = programs["pad" if part == "rough" else part]
        events += [(0, 0, bytes([0xC0 | channel, program])), (0, 0, bytes([0xB0 | channel, 7, VOLUMES[part]])),
                   (0, 0, bytes([0xB0 | channel, 91, int(20 + 90 * max(calm, 0.0))]))]
    bend = 8192 + int(round(detune / 200.0 * 8191))
    events.append((0, 0, bytes([0xE0 | CHANNELS["rough"], bend & 0x7F, bend >> 7])))
    for note in notes:
        channels = [CHANNELS[note.part]] + ([CHANNELS["rough"]] if note.part == "pad" and detune > 5 else [])
        velocity = int(np.clip(round(note.velocity * 127), 1, 127))
        for channel in channels:
            events.append((_ticks(note.onset), 1, bytes([0x90 | channel, note.pitch, velocity])))
            events.append((_ticks(note.onset + note.duration), 0, bytes([0x80 | channel, note.pitch, 0])))
    for hit in hits:
        velocity = int(np.clip(round(hit.velocity * 127), 1, 127))
        events.append((_ticks(hit.onset), 1, bytes([0x99, DRUM_NOTES[hit.drum], velocity])))
        events.append((_ticks(hit.onset + 0.1), 0, bytes([0x89, DRUM_NOTES[hit.drum], 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    track, now = bytearray(_vlq(0) + b"\xff\x51\x03" + MICROSECONDS_PER_BEAT.to_bytes(3, "big")), 0
    for tick, _, message in events:
        track += _vlq(tick - now) + message
        now = tick
    track += _vlq(0) + b"\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") \
        + TICKS_PER_BEAT.to_bytes(2, "big")
    return header + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track)


def find_soundfont(explicit: str | None = None) -> Path:
    """The soundfont to play with: ``explicit``, else $MOODMAP_SOUNDFONT, else Debian's GM fonts."""
    chosen = explicit or os.environ.get("MOODMAP_SOUNDFONT")
    if chosen:
        if not Path(chosen).is_file():
            raise MoodmapError(chosen, "soundfont not found")
        return Path(chosen)
    for candidate in SOUNDFONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise MoodmapError(None, f"no General MIDI soundfont found; {INSTALL_HINT}")


def fluidsynth_binary() -> str:
    """Path of the ``fluidsynth`` program; a clear error when it is not installed."""
    found = shutil.which("fluidsynth")
    if not found:
        raise MoodmapError(None, f"the soundfont renderer needs the fluidsynth program; {INSTALL_HINT}")
    return found


def render_soundfont(params: SongParams, notes: list[Note], hits: list[Hit], seconds: float, sample_rate: int,
                     soundfont: str | None = None, programs: dict[str, int] | None = None) -> np.ndarray:
    """Mono float32 audio of the score played by ``fluidsynth``, peak at 0.9."""
    binary, font = fluidsynth_binary(), find_soundfont(soundfont)
    with tempfile.TemporaryDirectory(prefix="moodmap-fluid-") as tmp:
        midi, wav = Path(tmp) / "song.mid", Path(tmp) / "song.wav"
        midi.write_bytes(midi_file(params, notes, hits, programs))
        command = [binary, "-ni", "-q", "-g", "0.6", "-r", str(sample_rate), "-R", "1", "-C", "1",
                   "-o", "synth.cpu-cores=1", "-T", "wav", "-O", "float", "-F", str(wav), str(font), str(midi)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise MoodmapError(font, "fluidsynth took longer than 300 s for one song") from None
        if done.returncode != 0 or not wav.exists():
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise MoodmapError(font, f"fluidsynth failed: {reason}")
        audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    n = int(seconds * sample_rate)
    mono = np.zeros(n, np.float32)
    mono[:min(n, len(audio))] = audio[:n].mean(axis=1)
    return finish(tone_shape(mono, params, rate), rate)
