"""Metamorphic relations for a mood model: edits of one piece whose direction music psychology predicts.

The pure middle of the real-music check (benchmarks/real_music.py does the I/O): the audio
edits (tempo with pitch kept, a 2 kHz low-pass, soft clipping), the MIDI edits (parallel
major/minor, added dissonance, an octave lower, tempo) with a Krumhansl-Schmuckler key
finder, and the statistics of a relation over tracks (share moving the right way, mean
effect, seeded bootstrap intervals). Nothing here knows about Debian packages or files.

Examples
--------
>>> import numpy as np
>>> s = summarize(np.array([0.1, 0.2, -0.05, 0.3]), expected=+1, seed=0)
>>> s["n"], s["share_right"], round(s["mean_delta"], 4)
(4, 0.75, 0.1375)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# --- audio edits -----------------------------------------------------------------------------

FASTER, SLOWER = 1.25, 0.8  # tempo factors (pitch kept)
LOWPASS_HZ, LOWPASS_ORDER = 2000.0, 4
DRIVE_GAIN = 6.0  # tanh(gain · x) on the peak-normalised excerpt: heavy soft clipping


@dataclass(frozen=True)
class Relation:
    """An edit and the move it should cause: Δ = prediction(``variant``) − prediction(``against``)
    of ``dimension`` should have the sign ``expected`` (+1 up, −1 down)."""

    name: str  # the row's key
    label: str  # what the report says
    dimension: str  # "valence" or "arousal"
    expected: int
    variant: str
    against: str = "original"


AUDIO_RELATIONS = (
    Relation("faster", f"faster (phase vocoder ×{FASTER}, pitch kept) → arousal ↑", "arousal", +1,
             "faster"),
    Relation("slower", f"slower (phase vocoder ×{SLOWER}, pitch kept) → arousal ↓", "arousal", -1,
             "slower"),
    Relation("faster_vs_slower", f"faster vs slower (phase vocoder ×{FASTER} − ×{SLOWER}) → arousal ↑",
             "arousal", +1, "faster", "slower"),
    Relation("vocoded", "control: the phase vocoder at ×1 vs original (share: tracks it calmed)", "arousal", -1,
             "vocoded"),
    Relation("faster_rb", f"faster (Rubber Band R3 ×{FASTER}, pitch kept) → arousal ↑", "arousal", +1,
             "faster_rb"),
    Relation("slower_rb", f"slower (Rubber Band R3 ×{SLOWER}, pitch kept) → arousal ↓", "arousal", -1,
             "slower_rb"),
    Relation("faster_vs_slower_rb", f"faster vs slower (Rubber Band ×{FASTER} − ×{SLOWER}) → arousal ↑",
             "arousal", +1, "faster_rb", "slower_rb"),
    Relation("rb_control", "control: Rubber Band at ×1 vs original (share: tracks it calmed)", "arousal", -1,
             "rb_control"),
    Relation("darker", f"darker (low-pass {LOWPASS_HZ / 1000:g} kHz) → arousal ↓", "arousal", -1, "darker"),
    Relation("driven", f"driven (tanh clip, gain {DRIVE_GAIN:g}; same peak as loaded) → arousal ↑",
             "arousal", +1, "driven"),
    Relation("driven_rms", "driven, same RMS at the model's input → arousal ↑", "arousal", +1, "driven_rms"),
)
AUDIO_VARIANTS = ("original", "faster", "slower", "vocoded", "faster_rb", "slower_rb", "rb_control", "darker",
                  "driven", "driven_rms")
RUBBERBAND = ("faster_rb", "slower_rb", "rb_control")  # need the rubberband program (Debian rubberband-cli)


def centred(audio: np.ndarray, samples: int) -> np.ndarray:
    """The middle ``samples`` of ``audio`` (all of it when shorter)."""
    start = max(0, (len(audio) - samples) // 2)
    return audio[start:start + samples]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def audio_variants(source: np.ndarray, rate: int, seconds: float,
                   wanted: set[str] | None = None) -> dict[str, np.ndarray]:
    """The original ``seconds`` from the middle of ``source`` and its edits (those in ``wanted``,
    default all), each ``seconds`` long.

    ``source`` should be at least ``FASTER · seconds`` long (the faster variant is the middle
    ``FASTER · seconds`` stretched to ``seconds``, so every variant covers the same middle of
    the track and is cut into the same excerpt windows); ``vocoded`` goes through the same
    phase vocoder at rate 1, a control for its artefacts; the ``_rb`` variants and ``rb_control``
    are the same stretches by Rubber Band. Levels: the original, the low-pass
    and the tempo edits keep the source's level; the driven one is scaled back to the
    original's RMS (moodmap's loader then peak-normalises every file, so at the model's input
    it has the same peak and a higher RMS — the ``driven_rms`` relation undoes that)."""
    import librosa
    from scipy.signal import butter, sosfiltfilt

    wanted = set(AUDIO_VARIANTS) if wanted is None else wanted
    n = int(round(seconds * rate))
    original = centred(source, n).astype(np.float32)
    out = {"original": original}
    for name, factor in (("faster", FASTER), ("slower", SLOWER), ("vocoded", 1.0)):
        if name in wanted:
            span = centred(source, int(round(n * factor)))
            out[name] = _fit(librosa.effects.time_stretch(span.astype(np.float32), rate=factor), n)
    for name, factor in (("faster_rb", FASTER), ("slower_rb", SLOWER), ("rb_control", 1.0)):
        if name in wanted:
            span = centred(source, int(round(n * factor)))
            out[name] = _fit(rubberband(span, rate, factor), n)
    if "darker" in wanted:
        sos = butter(LOWPASS_ORDER, LOWPASS_HZ, btype="lowpass", fs=rate, output="sos")
        out["darker"] = sosfiltfilt(sos, original).astype(np.float32)
    if wanted & {"driven", "driven_rms"}:
        out["driven"] = drive(original)
    return out


def rubberband(audio: np.ndarray, rate: int, tempo: float) -> np.ndarray:
    """``audio`` at ``tempo`` × its speed, pitch kept, by the Rubber Band library's R3 engine (the
    ``rubberband`` program): a second time-stretcher, which keeps transients sharper than a plain
    phase vocoder."""
    import subprocess
    import tempfile
    from pathlib import Path

    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="moodmap-rubberband-") as tmp:
        source, target = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(str(source), audio, rate, subtype="FLOAT")
        subprocess.run(["rubberband", "-3", "-q", "-T", str(tempo), str(source), str(target)], check=True,
                       capture_output=True)
        return sf.read(str(target), dtype="float32")[0]


def drive(audio: np.ndarray, gain: float = DRIVE_GAIN) -> np.ndarray:
    """tanh soft clipping of the peak-normalised audio, scaled back to the input's RMS."""
    peak = float(np.max(np.abs(audio))) or 1.0
    clipped = np.tanh(gain * audio / peak)
    return (clipped * (rms(audio) / max(rms(clipped), 1e-12))).astype(np.float32)


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    """Exactly ``n`` samples: centred cut or zero padding at the end (the stretch rounds)."""
    if len(audio) >= n:
        return centred(audio, n)
    return np.pad(audio, (0, n - len(audio)))


def rms_matched(windows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``windows`` scaled, each, to the RMS of the same window of ``reference``."""
    own = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1, keepdims=True))
    target = np.sqrt(np.mean(np.square(reference, dtype=np.float64), axis=1, keepdims=True))
    return (windows * (target / np.maximum(own, 1e-12))).astype(np.float32)


# --- MIDI edits --------------------------------------------------------------------------------

DRUMS = 9  # General MIDI channel 10
# Krumhansl & Kessler (1982) key profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_DEGREES, MINOR_DEGREES = (4, 9, 11), (3, 8, 10)  # scale degrees 3, 6, 7 above the tonic
DISSONANT_FROM = 48  # notes from C3 up get a clashing neighbour; the bass below stays clean


MIDI_RELATIONS = (
    Relation("major", "MIDI: major vs parallel minor (degrees 3, 6, 7 moved) → valence ↑", "valence", +1,
             "major", "minor"),
    Relation("dissonant", "MIDI: dissonant (minor 2nd / tritone added above notes ≥ C3) → valence ↓",
             "valence", -1, "dissonant"),
    Relation("octave_down", "MIDI: an octave lower (all non-drum notes −12) → valence ↓", "valence", -1,
             "octave_down"),
    Relation("faster", f"MIDI: faster (tempo ×{FASTER}) → arousal ↑", "arousal", +1, "faster"),
    Relation("slower", f"MIDI: slower (tempo ×{SLOWER}) → arousal ↓", "arousal", -1, "slower"),
    Relation("faster_vs_slower", f"MIDI: faster vs slower (tempo ×{FASTER} − ×{SLOWER}) → arousal ↑",
             "arousal", +1, "faster", "slower"),
)
MIDI_VARIANTS = ("original", "major", "minor", "dissonant", "octave_down", "faster", "slower")


def midi_notes(midi) -> list[tuple[float, float, int]]:
    """(start s, end s, pitch) of every note of a ``mido.MidiFile`` but the drums'."""
    return [note[:3] for note in channel_notes(midi)]


def channel_notes(midi) -> list[tuple[float, float, int, int]]:
    """(start s, end s, pitch, channel) of every note but the drums' (merged tracks, ``time`` in
    seconds; a note_on of velocity 0 ends a note, as MIDI files use it)."""
    notes: list[tuple[float, float, int, int]] = []
    sounding: dict[tuple[int, int], list[float]] = {}
    now = 0.0
    for message in midi:
        now += message.time
        if message.type not in ("note_on", "note_off") or message.channel == DRUMS:
            continue
        key = (message.channel, message.note)
        if message.type == "note_on" and message.velocity > 0:
            sounding.setdefault(key, []).append(now)
        elif sounding.get(key):
            notes.append((sounding[key].pop(0), now, message.note, message.channel))
    return notes


def pitch_class_durations(notes: list[tuple[float, float, int]]) -> np.ndarray:
    """Seconds each pitch class sounds in (start, end, pitch) notes: the key finder's histogram."""
    weights = np.zeros(12)
    for start, end, pitch in notes:
        weights[pitch % 12] += end - start
    return weights


def detect_key(weights: np.ndarray) -> tuple[int, str, float]:
    """Krumhansl-Schmuckler: (tonic pitch class, "major"/"minor", correlation) of a pitch-class histogram."""
    best = (0, "major", -2.0)
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1]) if weights.std() > 0 else 0.0
            if r > best[2]:
                best = (tonic, mode, r)
    return best


def edited(midi, note_map: Callable[[int, int], list[int]] | None = None, tempo_factor: float = 1.0):
    """A copy of ``midi`` with each non-drum note ``p`` on channel ``c`` replaced by the notes
    ``note_map(c, p)`` (on and off alike, so pairs stay matched) and every tempo ×``tempo_factor``."""
    import mido

    out = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    tempo_seen = False
    for track in midi.tracks:
        new = mido.MidiTrack()
        for message in track:
            if message.type == "set_tempo":
                tempo_seen = True
                new.append(message.copy(tempo=max(1, min(0xFFFFFF, int(round(message.tempo / tempo_factor))))))
            elif note_map is not None and message.type in ("note_on", "note_off") and message.channel != DRUMS:
                pitches = [p for p in note_map(message.channel, message.note) if 0 <= p <= 127]
                for i, pitch in enumerate(pitches):  # extra notes at the same instant: delta time 0
                    new.append(message.copy(note=pitch, time=message.time if i == 0 else 0))
                if not pitches:  # a note pushed off the keyboard: keep its time, say nothing
                    new.append(mido.MetaMessage("text", text="", time=message.time))
            else:
                new.append(message.copy())
        out.tracks.append(new)
    if not tempo_seen and tempo_factor != 1.0:
        out.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=int(round(500_000 / tempo_factor)), time=0))
    return out


def midi_variants(midi) -> tuple[dict, dict]:
    """The MIDI edits of a piece (a ``mido.MidiFile``) and what was found (key, mode, correlation).

    ``major`` and ``minor`` are the piece in its detected mode and its parallel opposite: a
    major piece's degrees 3, 6, 7 lowered a semitone (relative to the detected tonic), a minor
    piece's raised; the original is one of the two."""
    tonic, mode, r = detect_key(pitch_class_durations(midi_notes(midi)))
    moved, step = (MAJOR_DEGREES, -1) if mode == "major" else (MINOR_DEGREES, +1)
    parallel = edited(midi, lambda c, p: [p + step if (p - tonic) % 12 in moved else p])
    def clash(channel: int, pitch: int) -> list[int]:  # a minor 2nd above even notes, a tritone above odd
        return [pitch, pitch + (1 if pitch % 2 == 0 else 6)] if pitch >= DISSONANT_FROM else [pitch]

    variants = {"original": midi, "major": midi if mode == "major" else parallel,
                "minor": midi if mode == "minor" else parallel, "dissonant": edited(midi, clash),
                "octave_down": edited(midi, lambda c, p: [p - 12] if p >= 12 else [p]),
                "faster": edited(midi, tempo_factor=FASTER), "slower": edited(midi, tempo_factor=SLOWER)}
    return variants, {"tonic": tonic, "mode": mode, "key_r": r}


def deltas(measured: dict, relation: Relation, model: str) -> np.ndarray:
    """Per piece Δ of a relation from {piece: {variant: {model: (valence, arousal)}}}."""
    dim = 0 if relation.dimension == "valence" else 1
    return np.array([per[relation.variant][model][dim] - per[relation.against][model][dim]
                     for per in measured.values() if per.get(relation.variant, {}).get(model) is not None],
                    dtype=np.float64)


# --- statistics --------------------------------------------------------------------------------

BOOTSTRAP = 2000


def summarize(deltas: np.ndarray, expected: int, seed: int = 0, resamples: int = BOOTSTRAP) -> dict:
    """One relation over tracks: n, share of tracks moving the ``expected`` way (Δ exactly 0 is
    not a move), mean Δ, and 95 % percentile-bootstrap intervals of both (tracks resampled,
    seeded)."""
    deltas = np.asarray(deltas, dtype=np.float64)
    n = len(deltas)
    if n == 0:
        return {"n": 0, "share_right": None, "share_ci": [None, None], "mean_delta": None, "mean_ci": [None, None],
                "sd_delta": None}
    right = (np.sign(deltas) == expected).astype(np.float64)
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    shares, means = right[picks].mean(axis=1), deltas[picks].mean(axis=1)
    return {"n": n, "share_right": float(right.mean()), "share_ci": _ci(shares),
            "mean_delta": float(deltas.mean()), "mean_ci": _ci(means),
            "sd_delta": float(deltas.std(ddof=1)) if n > 1 else 0.0}


def _ci(values: np.ndarray) -> list[float]:
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def spread(values: np.ndarray) -> float:
    """Sample sd (ddof = 1) of predictions over songs."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0
