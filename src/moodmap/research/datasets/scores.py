"""Real compositions played and labelled the way the generator's songs are (issue 33).

The generator (score.py) labels a song from its parameters by fixed weights. Its notes are
loops: a chord progression, a random-walk melody, a drum pattern. Here the notes come from
real compositions instead — chorales, madrigals, masses and string quartets from music21's
corpus — and each parameter is either read from the score or set by how it is played, by the
same means the generator uses:

- **mode**: the key of the opening that is played (its first ``MAX_BEATS`` beats, looped), found
  with Krumhansl–Kessler profiles: major is ionian, minor aeolian. A piece whose key is unclear
  (correlation below ``MIN_KEY_CORRELATION``) is not used.
- **density**: the top part's onsets per beat, on the generator's scale (0.5 + 3.5 × density
  notes per beat). A score beat is played as ½, 1 or 2 of the generator's beats (drawn among
  those that keep the density on that scale and the piece's own tempo within 40–200 quarter
  notes a minute), so the same piece can be sparse or busy.
- **tempo**: the bpm of the generator's beat, drawn as the generator draws it; the drums mark it.
- **register**: the whole piece transposed so that its top part sits where the generator's
  melody sits for a drawn register (the label gets the register actually reached).
- **loudness, brightness, consonance**: drawn, and applied as in the generator: each part's
  velocity, the renderer's tone shaping and drive, a rough note (minor second or tritone) added
  to a bar's harmony with probability 1 − consonance, and the detuned chord double.

The label is ``score.rate`` of those parameters, ten simulated annotators included. A model
then meets the generator's cue → mood mapping on real voice leading, cadences, modulations and
textures, which its loops never have. ``mode_twins=True`` adds each piece again in its parallel
mode (scale degrees 3, 6 and 7 moved by a semitone against the found tonic), in the same group.

Needs ``music21`` (the corpus; ``moodmap[train]``) and FluidSynth with a General MIDI soundfont.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ...core.atomic import atomic_write_text
from ...core.engines import run_tasks
from ...core.errors import MoodmapError
from .score import Hit, Note, SongParams, _drums, song_params
from .soundfont import find_soundfont, fluidsynth_binary
from .synth import SynthSpec, render_score, song_seed, write_clip, write_rated_set

DEFAULT_COMPOSERS = ("bach", "monteverdi", "beethoven", "mozart", "haydn", "schumann_clara", "schumann_robert",
                     "palestrina", "corelli", "handel", "josquin", "joplin")
MAX_BEATS = 96.0  # the opening used (24 bars of 4/4), looped to fill the clip; its key is the label's mode
MIN_KEY_CORRELATION = 0.75  # below it a piece's major/minor is a guess, and so would its label be
MELODY_CENTRE, MELODY_SPAN = 69.5, 24.0  # the generator's melody: mean MIDI pitch ≈ 69.5 + 24 × register
LOWEST, HIGHEST = 28, 103  # what a transposition may reach (the GM instruments' useful range)
STRETCHES = (0.5, 1.0, 2.0)  # generator beats one score beat may be played as
SCORE_BPM = (40.0, 200.0)  # the quarter-note tempi a piece may be played at
BEATS_PER_BAR = 4  # the generator's bar: where a rough note may join the harmony
MAJOR_MOVED, MINOR_MOVED = (4, 9, 11), (3, 8, 10)  # scale degrees 3, 6, 7 above the tonic
TWIN_PREFIX = "m"
# instruments="any": each part's General MIDI program (0-based) drawn from these, whatever the mood —
# pianos, organs, guitars, strings, choir, brass, reeds, synth leads and pads; basses for the bass part.
ANY_PROGRAMS = (0, 1, 4, 6, 16, 19, 24, 25, 27, 40, 41, 42, 48, 49, 52, 56, 61, 65, 68, 71, 73, 80, 81, 88, 89, 91)
ANY_BASS_PROGRAMS = (0, 32, 33, 38, 42, 43, 58, 70)
INSTRUMENTS = ("palette", "any")


@dataclass(frozen=True)
class ScoreNote:
    """A note of a composition, in quarter-note beats from its start."""

    beat: float
    length: float
    pitch: int
    voice: str  # "lead" (top part), "pad" (inner parts), "bass" (bottom part)


@dataclass(frozen=True)
class Piece:
    """A composition as this module uses it: its notes, key, and length in beats."""

    source: str  # its corpus path
    notes: tuple[ScoreNote, ...]
    mode: str  # "ionian" or "aeolian"
    tonic: int  # pitch class
    correlation: float
    beats: float


def read_piece(source: str | Path, max_beats: float | None = None) -> Piece:
    """The first ``max_beats`` quarter-note beats (default ``MAX_BEATS``) of a composition from
    music21's corpus (a corpus path, or any file music21 reads; a collection: its first piece),
    with the key they are in."""
    from music21 import converter, corpus, stream

    path = Path(source)
    score = converter.parse(path) if path.is_file() else corpus.parse(str(source))
    if isinstance(score, stream.Opus):
        score = score.scores[0]
    parts = list(score.stripTies().parts)
    if len(parts) < 2:
        raise MoodmapError(source, f"has {len(parts)} part; the set needs a top part and a bass")
    limit = MAX_BEATS if max_beats is None else max_beats
    voices = ["lead"] + ["pad"] * (len(parts) - 2) + ["bass"]
    notes = []
    for part, voice in zip(parts, voices):
        flat = part.flatten()
        for element in flat.notes:
            beat, length = float(element.getOffsetBySite(flat)), float(element.quarterLength)
            if beat < limit and length > 0:
                notes += [ScoreNote(beat, min(length, limit - beat), int(p.midi), voice) for p in element.pitches]
    if not any(n.voice == "lead" for n in notes):
        raise MoodmapError(source, "its top part has no notes at the start")
    mode, tonic, correlation = find_key(notes)
    return Piece(str(source), tuple(sorted(notes, key=lambda n: (n.beat, n.pitch))), mode, tonic, correlation,
                 max(n.beat + n.length for n in notes))


# Krumhansl & Kessler's key profiles (probe-tone ratings), from the tonic up.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def find_key(notes) -> tuple[str, int, float]:
    """The mode ("ionian" for major, "aeolian" for minor), tonic pitch class and correlation of the
    key whose Krumhansl–Kessler profile best matches the notes' duration-weighted pitch classes."""
    histogram = np.zeros(12)
    for n in notes:
        histogram[n.pitch % 12] += n.length
    best = ("ionian", 0, -2.0)
    for mode, profile in (("ionian", MAJOR_PROFILE), ("aeolian", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(histogram, np.roll(profile, tonic))[0, 1])
            if r > best[2]:
                best = (mode, tonic, r)
    return best


def onsets_per_beat(piece: Piece) -> float:
    """The top part's note onsets per quarter-note beat."""
    return len({n.beat for n in piece.notes if n.voice == "lead"}) / piece.beats


def melody_centre(piece: Piece) -> float:
    """The top part's duration-weighted mean MIDI pitch."""
    lead = [n for n in piece.notes if n.voice == "lead"]
    return float(np.average([n.pitch for n in lead], weights=[n.length for n in lead]))


def piece_params(piece: Piece, song_id: str, seed: int) -> tuple[SongParams, float, int]:
    """The song's parameters (tempo, loudness, brightness, consonance drawn as the generator draws
    them; mode and density read from the score; register where the transposition lands), with the
    generator beats one score beat is played as, and the transposition in semitones."""
    drawn = song_params(song_id, seed)
    rng = np.random.default_rng([seed, 3])
    per_beat = onsets_per_beat(piece)
    fitting = [s for s in STRETCHES if 0.5 <= per_beat / s <= 4.0 and SCORE_BPM[0] <= drawn.bpm / s <= SCORE_BPM[1]]
    stretch = float(rng.choice(fitting)) if fitting else 1.0
    density = float(np.clip((per_beat / stretch - 0.5) / 3.5, 0.0, 1.0))
    pitches = [n.pitch for n in piece.notes]
    lowest_shift, highest_shift = LOWEST - min(pitches), HIGHEST - max(pitches)
    centre = melody_centre(piece)
    wanted = int(round(MELODY_CENTRE + MELODY_SPAN * drawn.register - centre))
    shift = int(np.clip(wanted, lowest_shift, highest_shift)) if lowest_shift <= highest_shift else wanted
    register = float(np.clip((centre + shift - MELODY_CENTRE) / MELODY_SPAN, 0.0, 1.0))
    params = replace(drawn, mode=piece.mode, density=density, register=register, key=(piece.tonic + shift) % 12,
                     progression=0)
    return params, stretch, shift


def parallel_mode(piece: Piece) -> Piece:
    """The piece in its parallel mode: degrees 3, 6 and 7 above the tonic a semitone down
    (major → minor) or up (minor → major)."""
    moved, step = (MAJOR_MOVED, -1) if piece.mode == "ionian" else (MINOR_MOVED, 1)
    notes = tuple(replace(n, pitch=n.pitch + step) if (n.pitch - piece.tonic) % 12 in moved else n
                  for n in piece.notes)
    return replace(piece, notes=notes, mode="aeolian" if piece.mode == "ionian" else "ionian")


def performance(piece: Piece, params: SongParams, stretch: float, shift: int, seconds: float
                ) -> tuple[list[Note], list[Hit]]:
    """The generator's notes and drum hits for ``seconds`` of the piece, played as ``params`` say
    (looped from its start if it is shorter)."""
    rng = np.random.default_rng([params.seed, 4])
    beat = 60.0 / params.bpm  # the generator's beat, in seconds
    score_beat = stretch * beat
    velocity = {"pad": 0.35 + 0.35 * params.loudness, "bass": 0.5 + 0.4 * params.loudness}
    notes: list[Note] = []
    for lap in range(int(np.ceil(seconds / (piece.beats * score_beat)))):
        for n in piece.notes:
            onset = (lap * piece.beats + n.beat) * score_beat
            if onset >= seconds:
                break
            if n.voice == "lead":
                accent = 0.15 if abs(n.beat - round(n.beat)) < 1e-6 else 0.0
                level = float(np.clip(0.45 + 0.35 * params.loudness + accent + rng.normal(0, 0.05), 0.1, 1.0))
            else:
                level = velocity[n.voice]
            notes.append(Note(onset, n.length * score_beat, n.pitch + shift, level, n.voice))
    bars = int(np.ceil(seconds / (BEATS_PER_BAR * beat)))
    notes += _rough_notes(notes, params, bars, BEATS_PER_BAR * beat, rng, velocity["pad"])
    return notes, _drums(params, bars, BEATS_PER_BAR * beat, beat, rng)


def _rough_notes(notes: list[Note], params: SongParams, bars: int, bar: float, rng: np.random.Generator,
                 velocity: float) -> list[Note]:
    """The generator's roughness: in each bar, with probability 1 − consonance, a minor second or
    tritone (or their octaves) above the lowest inner note sounding at the bar's start."""
    added = []
    for b in range(bars):
        start = b * bar
        if rng.uniform() <= params.consonance:
            continue
        sounding = [n.pitch for n in notes if n.onset <= start < n.onset + n.duration and n.part != "lead"]
        if sounding:
            added.append(Note(start, bar, min(sounding) + int(rng.choice([1, 6, 11, 13])), velocity, "pad"))
    return added


@dataclass(frozen=True)
class ScoreSpec:
    """What to make: how many pieces, from which composers of music21's corpus, how played."""

    pieces: int
    seed: int = 0
    seconds: float = 45.0
    sample_rate: int = 22050
    audio_format: str = "flac"
    composers: tuple[str, ...] = DEFAULT_COMPOSERS
    mode_twins: bool = False
    soundfont: str | None = None
    instruments: str = "palette"  # the generator's mood palettes, or "any": programs drawn regardless of mood

    def synth(self) -> SynthSpec:
        """The generator's spec these songs are played with (always the soundfont renderer)."""
        return SynthSpec(songs=self.pieces, seed=self.seed, seconds=self.seconds, sample_rate=self.sample_rate,
                         audio_format=self.audio_format, renderer="soundfont", soundfont=self.soundfont)


def candidates(spec: ScoreSpec) -> list[str]:
    """Every corpus work of the spec's composers (corpus paths), in a seeded order that takes the
    composers in turn, so that one with a thousand works (palestrina) does not make up the set."""
    from music21 import common, corpus

    root = Path(common.getCorpusFilePath())
    rng = np.random.default_rng([spec.seed, 5])
    queues = []
    for composer in spec.composers:
        works = sorted(str(Path(p).relative_to(root)) for p in corpus.getComposer(composer))
        queues.append([works[i] for i in rng.permutation(len(works))])
    return [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]


def write_score_set(out: str | Path, spec: ScoreSpec, jobs: int | None = None) -> Path:
    """Render ``spec.pieces`` usable corpus works (and their parallel-mode twins) under ``out``;
    returns the manifest (``moodmap prepare OUT/manifest.csv --format manifest --scale 1-9``).
    A work that cannot be used (one part, an unclear key, unreadable) is skipped and listed in
    ``skipped.csv``; songs already rendered are kept, so an interrupted run resumes."""
    out = Path(out)
    if spec.instruments not in INSTRUMENTS:
        raise MoodmapError(None, f"instruments must be one of {', '.join(INSTRUMENTS)} (got {spec.instruments!r})")
    fluidsynth_binary()  # fail before the first piece, not in every worker
    spec = replace(spec, soundfont=str(find_soundfont(spec.soundfont)))
    (out / "clips").mkdir(parents=True, exist_ok=True)
    works, entries, skipped, index = candidates(spec), [], [], 0
    while (wanted := spec.pieces - len({group for _, _, group in entries})) > 0 and index < len(works):
        batch = [(i + 1, works[i], spec, out) for i in range(index, min(len(works), index + wanted + wanted // 3 + 1))]
        index += len(batch)
        for task, made in run_tasks(_piece_task, batch, jobs):
            if isinstance(made, str):
                skipped.append((task[1], made))
            else:
                entries += made
    entries = sorted(entries, key=lambda e: (int(e[2][1:]), e[1].song_id.startswith(TWIN_PREFIX)))
    keep = set(sorted({group for _, _, group in entries}, key=lambda g: int(g[1:]))[:spec.pieces])
    entries = [e for e in entries if e[2] in keep]
    table = io.StringIO()
    csv.writer(table, lineterminator="\n").writerows([("work", "reason"), *sorted(skipped)])
    atomic_write_text(out / "skipped.csv", table.getvalue())  # a reason quoting the work's text stays one cell
    return write_rated_set(out, entries, {**asdict(spec), "renderer": "soundfont", "scores": True})


def any_programs(seed: int) -> dict[str, int]:
    """GM programs for the three parts drawn regardless of mood (``instruments="any"``): the same
    piece may be a string quartet, an organ, a guitar band or a piano."""
    rng = np.random.default_rng([seed, 6])
    return {"lead": int(rng.choice(ANY_PROGRAMS)), "pad": int(rng.choice(ANY_PROGRAMS)),
            "bass": int(rng.choice(ANY_BASS_PROGRAMS))}


def _piece_task(task: tuple[int, str, ScoreSpec, Path]) -> list[tuple[Path, SongParams, str]] | str:
    """Worker: one corpus work rendered (and its twin), as manifest entries; or why it was skipped."""
    index, work, spec, out = task
    try:
        piece = read_piece(work)
    except Exception as exc:  # noqa: BLE001 — one unreadable work must not stop the set
        return f"unreadable: {type(exc).__name__}: {exc}"[:200]
    if piece.correlation < MIN_KEY_CORRELATION:
        return f"unclear key ({piece.correlation:.2f} < {MIN_KEY_CORRELATION})"
    group, synth = f"s{index}", spec.synth()
    params, stretch, shift = piece_params(piece, group, song_seed(spec.seed, index))
    programs = any_programs(params.seed) if spec.instruments == "any" else None
    versions = [(piece, params)]
    if spec.mode_twins:
        twin = parallel_mode(piece)
        versions.append((twin, replace(params, song_id=TWIN_PREFIX + group, mode=twin.mode)))
    entries = []
    for version, version_params in versions:
        path = (out / "clips" / f"{version_params.song_id}.{spec.audio_format}").resolve()
        if not path.exists():
            notes, hits = performance(version, version_params, stretch, shift, spec.seconds)
            write_clip(render_score(version_params, notes, hits, spec.seconds, synth, programs), synth, path)
        entries.append((path, version_params, group))
    (out / "clips" / f"{group}.json").write_text(json.dumps(
        {"work": work, "mode": piece.mode, "tonic": piece.tonic, "key_correlation": round(piece.correlation, 3),
         "score_beat_as": stretch, "transposed": shift, "programs": programs}), encoding="utf-8")
    return entries
