"""Synthetic music, part 1: musical parameters, their ground-truth mood, and the score.

A song's valence and arousal *follow from* its musical parameters, by fixed weights
grounded in music-psychology findings (Gabrielsson & Lindström; Eerola et al.):

- arousal  = 0.30 tempo + 0.25 note density + 0.25 loudness/drive + 0.20 brightness
- valence  = 0.30 mode (phrygian … lydian) + 0.35 consonance + 0.35 register

each term on 0–1, mapped onto the 1–9 rating scale as ``1 + 8 × score``. Ten
simulated annotators then rate every song with their own noise, as MTurk workers
rated emoMusic; the mean of their ratings is the label, as in the real data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Modes ordered from darkest to brightest, with their valence score and intervals.
MODES = {
    "phrygian": (0.0, (0, 1, 3, 5, 7, 8, 10)),
    "aeolian": (0.2, (0, 2, 3, 5, 7, 8, 10)),
    "dorian": (0.4, (0, 2, 3, 5, 7, 9, 10)),
    "mixolydian": (0.65, (0, 2, 4, 5, 7, 9, 10)),
    "ionian": (0.85, (0, 2, 4, 5, 7, 9, 11)),
    "lydian": (1.0, (0, 2, 4, 6, 7, 9, 11)),
}
PROGRESSIONS = ((0, 5, 3, 4), (0, 3, 4, 0), (0, 4, 5, 3), (5, 3, 0, 4), (0, 2, 3, 4), (0, 3, 0, 4), (0, 6, 5, 4))
AROUSAL_WEIGHTS = {"tempo": 0.30, "density": 0.25, "loudness": 0.25, "brightness": 0.20}
VALENCE_WEIGHTS = {"mode": 0.30, "consonance": 0.35, "register": 0.35}
ANNOTATORS = 10
BPM_BASE, BPM_SPAN = 60.0, 120.0  # tempo 0–1 → 60–180 bpm
RATING_SPAN = 8.0  # a 0–1 score → the 1–9 rating 1 + 8 × score


@dataclass(frozen=True)
class SongParams:
    """The musical parameters of one synthetic song (each unit value on 0–1)."""

    song_id: str
    seed: int
    tempo: float
    density: float
    loudness: float
    brightness: float
    mode: str
    consonance: float
    register: float
    key: int
    progression: int

    @property
    def bpm(self) -> float:
        return BPM_BASE + BPM_SPAN * self.tempo

    @property
    def notes_per_beat(self) -> float:
        return 0.5 + 3.5 * self.density

    @property
    def arousal_score(self) -> float:
        return sum(w * getattr(self, k) for k, w in AROUSAL_WEIGHTS.items())

    @property
    def valence_score(self) -> float:
        return (VALENCE_WEIGHTS["mode"] * MODES[self.mode][0] + VALENCE_WEIGHTS["consonance"] * self.consonance
                + VALENCE_WEIGHTS["register"] * self.register)


@dataclass(frozen=True)
class Ratings:
    """What the simulated annotators said, on the 1–9 scale."""

    valence_true: float
    arousal_true: float
    valence_mean: float
    valence_std: float
    arousal_mean: float
    arousal_std: float


@dataclass(frozen=True)
class Note:
    onset: float  # seconds
    duration: float
    pitch: int  # MIDI
    velocity: float  # 0–1
    part: str  # "pad" | "lead" | "bass"


@dataclass(frozen=True)
class Hit:
    onset: float
    drum: str  # "kick" | "snare" | "hat"
    velocity: float


def song_params(song_id: str, seed: int) -> SongParams:
    """Draw one song's parameters; the same (id, seed) always gives the same song."""
    rng = np.random.default_rng(seed)
    return SongParams(
        song_id=song_id, seed=seed,
        tempo=float(rng.uniform()), density=float(rng.uniform()), loudness=float(rng.uniform()),
        brightness=float(rng.uniform()), mode=str(rng.choice(list(MODES))), consonance=float(rng.uniform()),
        register=float(rng.uniform()), key=int(rng.integers(12)), progression=int(rng.integers(len(PROGRESSIONS))),
    )


def rate(params: SongParams) -> Ratings:
    """Ten noisy annotators rate the song on 1–9 (integers), as crowd workers do."""
    rng = np.random.default_rng([params.seed, 1])
    true_v, true_a = 1.0 + RATING_SPAN * params.valence_score, 1.0 + RATING_SPAN * params.arousal_score
    spread_v, spread_a = rng.uniform(0.9, 2.1, size=2)
    votes_v = np.clip(np.rint(true_v + rng.normal(0.0, spread_v, ANNOTATORS)), 1, 9)
    votes_a = np.clip(np.rint(true_a + rng.normal(0.0, spread_a, ANNOTATORS)), 1, 9)
    return Ratings(true_v, true_a, float(votes_v.mean()), float(votes_v.std(ddof=1)),
                   float(votes_a.mean()), float(votes_a.std(ddof=1)))


def compose(params: SongParams, seconds: float) -> tuple[list[Note], list[Hit]]:
    """Write the score: chords, bass, a melody in sections, and drums."""
    rng = np.random.default_rng([params.seed, 2])
    beat = 60.0 / params.bpm
    bar = 4 * beat
    scale = MODES[params.mode][1]
    notes: list[Note] = []
    bars = int(np.ceil(seconds / bar))
    progression = PROGRESSIONS[params.progression]
    for b in range(bars):
        degree = progression[b % len(progression)]
        notes += _chord_notes(params, scale, degree, b * bar, bar, beat, rng)
        notes += _bass_notes(params, scale, degree, b * bar, bar, beat)
    for start in range(0, bars, 8):
        notes += _melody(params, scale, start * bar, min(8, bars - start) * bar, beat, rng)
    hits = _drums(params, bars, bar, beat, rng)
    return [n for n in notes if n.onset < seconds], [h for h in hits if h.onset < seconds]


def _pitch(params: SongParams, scale: tuple[int, ...], degree: int, base: int) -> int:
    octave, step = divmod(degree, len(scale))
    return base + params.key + 12 * octave + scale[step]


def chord_base(params: SongParams) -> int:
    """MIDI note the chords' scale is counted from before the key: higher with the song's register."""
    return 45 + int(round(18 * params.register))


def _chord_notes(params, scale, degree, t0, bar, beat, rng) -> list[Note]:
    base = chord_base(params)
    pitches = [_pitch(params, scale, degree + k, base) for k in (0, 2, 4)]
    if params.consonance > 0.5 and rng.uniform() < params.consonance - 0.3:
        pitches.append(_pitch(params, scale, degree + 6, base))  # a seventh: rich, still consonant
    if rng.uniform() > params.consonance:
        pitches.append(pitches[0] + int(rng.choice([1, 6, 11, 13])))  # minor second / tritone: rough
    velocity = 0.35 + 0.35 * params.loudness
    driving = params.tempo + params.density > 1.0
    if driving:
        return [Note(t0 + i * beat, 0.8 * beat, p, velocity, "pad") for i in range(4) for p in pitches]
    return [Note(t0, bar, p, velocity, "pad") for p in pitches]


def _bass_notes(params, scale, degree, t0, bar, beat) -> list[Note]:
    root = _pitch(params, scale, degree, 36)
    velocity = 0.5 + 0.4 * params.loudness
    if params.tempo + params.loudness > 1.0:
        return [Note(t0 + i * beat, 0.9 * beat, root + (12 if i % 2 and params.density > 0.5 else 0),
                     velocity, "bass") for i in range(4)]
    return [Note(t0, 2 * beat, root, velocity, "bass"), Note(t0 + 2 * beat, 2 * beat, root, velocity, "bass")]


def _melody(params, scale, t0, length, beat, rng) -> list[Note]:
    """A random walk over the scale, ``notes_per_beat`` onsets per beat on a 16th grid."""
    base = 57 + int(round(24 * params.register))
    return [Note(onset, duration, _pitch(params, scale, degree, base), velocity, "lead")
            for _, onset, duration, degree, velocity in melody_walk(params, t0, length, beat, rng)]


def melody_walk(params, t0, length, beat, rng):
    """The melody's notes before they get a pitch: (16th slot, onset, duration, scale degree, velocity),
    the degree a random walk over −2…10. Kept apart from the pitch so that other voicings (the issue 33
    experiments) walk the same way."""
    step = beat / 4
    slots = int(length / step)
    onsets = np.flatnonzero(rng.uniform(size=slots) < min(1.0, params.notes_per_beat / 4))
    if onsets.size == 0:
        onsets = np.array([0])
    degree = int(rng.integers(0, 5))
    for i, slot in enumerate(onsets):
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2]), -2, 10))
        nxt = onsets[i + 1] if i + 1 < len(onsets) else slots
        accent = 0.15 if slot % 4 == 0 else 0.0
        velocity = float(np.clip(0.45 + 0.35 * params.loudness + accent + rng.normal(0, 0.05), 0.1, 1.0))
        yield int(slot), t0 + slot * step, max(step, (nxt - slot) * step * 0.9), degree, velocity


def _drums(params, bars, bar, beat, rng) -> list[Hit]:
    """Kick and snare grow with loudness and tempo; hats subdivide with density."""
    level = params.loudness * 0.7 + params.tempo * 0.3
    if level < 0.25:
        return []
    hits = []
    four_on_floor = params.tempo > 0.6
    hat_steps = 4 if params.density > 0.6 else 2
    for b in range(bars):
        t0 = b * bar
        for i in range(4):
            if i % 2 == 0 or four_on_floor:
                hits.append(Hit(t0 + i * beat, "kick", level))
            if i % 2 == 1:
                hits.append(Hit(t0 + i * beat, "snare", level * 0.9))
            for s in range(hat_steps):
                hits.append(Hit(t0 + i * beat + s * beat / hat_steps, "hat",
                                level * (0.6 if s else 0.8) * float(rng.uniform(0.8, 1.0))))
    return hits
