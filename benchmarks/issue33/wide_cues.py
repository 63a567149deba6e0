# Issue 33 experiment (2026-12-02). Run from the repository root:
#   python benchmarks/issue33/wide_cues.py measure [--songs 150]
#   python benchmarks/issue33/wide_cues.py synth OUT --songs 1000 --seed 11 [--jobs 2]
"""The generator with its valence cue box widened toward real compositions (docs/research/cue-ranges.md).

Three changes to how a song *sounds*; its parameters, their draws and the rule that labels them
are the generator's, unchanged:

- **one tonic**: the generator builds the melody's scale on 57 + round(24 r) + key, the chords' on
  45 + round(18 r) + key and the bass's on 36 + key, so its parts are in keys up to six semitones
  apart (only 11 % of songs have melody and chords on one tonic), and its mode is hard to hear as
  a key: Krumhansl–Schmuckler calls 73 % of its major-like songs major and 48 % of its minor-like
  ones. Here every part is built on C + key in some octave, as in a real piece.
- **register**: the melody walks the scale from 3 steps below to 14 steps above the tonic C3 + key
  as register goes 0 → 1 (skyline ≈ MIDI 55–82, where real melodies, quartiles 57.6 / 62.4 / 65.7 on
  the check's pieces, fall inside rather than below); the chords sit an octave higher from register 0.4.
- **consonance**: each melody note, with probability ``consonance``, moves to the nearest pitch of
  the chord sounding under it and ends by the bar line, where the chord changes (the generator's
  melody ignores its chords: even its most consonant songs are rough on 40 % of their time; real
  pieces median 6 %).

Applied by replacing the composer's melody and chord helpers at import, at the top level of this
script, so the spawned synthesis workers (which re-run it as ``__mp_main__``) compose the same way.
The paper's generator itself is untouched.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np

import moodmap.research.datasets.score as score

TONIC = 48  # C3: every part's scale is built on TONIC + key (or an octave of it), so all share one tonic
MELODY_LOW, MELODY_STEPS = -3, 17  # the melody walk's offset in scale steps: register 0 → 3 steps below, 1 → 14 above
CHORD_HIGH = 0.4  # from this register up the chords sit an octave higher (TONIC, else TONIC − 12)
_melody, _chord_notes = score._melody, score._chord_notes  # the paper generator's


def chord_notes(params, scale, degree, t0, bar, beat, rng):
    """The generator's chords, voiced on the song's tonic (its ``chord_base`` moves them off the tonic)."""
    notes = _chord_notes(params, scale, degree, t0, bar, beat, rng)
    old = score.chord_base(params)
    new = TONIC - (12 if params.register < CHORD_HIGH else 0)
    return [replace(n, pitch=n.pitch - old + new) for n in notes]


def melody(params, scale, t0, length, beat, rng):
    """The generator's melody walk on the song's tonic, its register set in scale steps; each note, with
    probability consonance, moved to the nearest pitch of the chord under it and ended by the bar line."""
    offset = MELODY_LOW + int(round(MELODY_STEPS * params.register))
    snap = np.random.default_rng([params.seed, 7])
    progression = score.PROGRESSIONS[params.progression]
    bar = 4 * beat
    first_bar = int(round(t0 / bar))
    notes = []
    for slot, onset, duration, degree, velocity in score.melody_walk(params, t0, length, beat, rng):
        pitch = score._pitch(params, scale, degree + offset, TONIC)
        if snap.uniform() < params.consonance:
            bar_index = first_bar + int(slot) // 16  # 16 sixteenths a bar: no float division at a bar line
            chord_degree = progression[bar_index % len(progression)]
            chord = {(params.key + scale[(chord_degree + k) % len(scale)]) % 12 for k in (0, 2, 4)}
            pitch = nearest(pitch, chord)
            duration = min(duration, (bar_index + 1) * bar - onset)  # held on, it would meet the next chord
        notes.append(score.Note(onset, duration, pitch, velocity, "lead"))
    return notes


def nearest(pitch: int, chord: set[int]) -> int:
    """The pitch of ``chord`` (pitch classes) closest to ``pitch`` (ties: the lower)."""
    for step in range(7):
        for candidate in (pitch - step, pitch + step):
            if candidate % 12 in chord:
                return candidate
    return pitch


score._melody, score._chord_notes = melody, chord_notes


def measure(songs: int) -> None:
    """The cues of ``songs`` generator songs, in the paper generator's voicing and in one tonic."""
    for name, helpers in (("paper generator", (_melody, _chord_notes)), ("one tonic", (melody, chord_notes))):
        score._melody, score._chord_notes = helpers
        print(f"--- {name}, {songs} songs")
        report(songs)
    score._melody, score._chord_notes = melody, chord_notes


def report(songs: int) -> None:
    sys.path.insert(0, "benchmarks/issue33")
    import rule_spread as rs

    rows = []
    for i in range(songs):
        params = score.song_params(f"g{i}", 9000 + i)
        notes, _ = score.compose(params, 45.0)
        found = rs.cues([(n.onset, n.onset + n.duration, n.pitch) for n in notes])
        lead = [n.pitch - params.key for n in notes if n.part == "lead"]
        pad = [n.pitch - params.key for n in notes if n.part == "pad"]
        # one tonic: every lead and chord pitch in the song's scale counted from C + key
        in_key = set(score.MODES[params.mode][1]).issuperset({p % 12 for p in lead + pad[:3]})
        rows.append((params.register, params.consonance, found["skyline"], found["roughness"],
                     found["mode"] == "major", score.MODES[params.mode][0] >= 0.5, in_key))
    reg, con, sky, rough, called_major, major_like, in_key = (np.array(x) for x in zip(*rows))
    print(f"key finder calls major: {called_major[major_like].mean():.0%} of major-like songs, "
          f"{called_major[~major_like].mean():.0%} of minor-like ones")
    print(f"melody and first chord in the scale on C + key: {in_key.sum()} of {songs} songs")
    print(f"skyline = {rs.line(reg, sky)}  (a, b, r²)")
    print(f"roughness = {rs.line(con, rough)}")
    print("skyline quartiles, register < 0.1:", np.percentile(sky[reg < 0.1], [0, 25, 50, 75, 100]).round(1))
    print("skyline quartiles, all:", np.percentile(sky, [0, 25, 50, 75, 100]).round(1))
    print("roughness quartiles, consonance > 0.9:", np.percentile(rough[con > 0.9], [0, 25, 50, 75, 100]).round(3))
    print("roughness quartiles, consonance < 0.1:", np.percentile(rough[con < 0.1], [0, 25, 50, 75, 100]).round(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--songs", type=int, default=150)
    s = sub.add_parser("synth")
    s.add_argument("out")
    s.add_argument("--songs", type=int, default=1000)
    s.add_argument("--seed", type=int, default=11)
    s.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.command == "measure":
        measure(args.songs)
        return
    from moodmap.research.datasets.synth import SynthSpec, write_synth_dataset

    began = time.monotonic()
    paths = write_synth_dataset(args.out, SynthSpec(songs=args.songs, seed=args.seed, renderer="soundfont"),
                                jobs=args.jobs)
    print(f"{len(paths)} songs in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
