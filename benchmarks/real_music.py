"""A real-music check without labels: does the model move the way music psychology predicts?

No labelled real music is on this machine, and fitting to another model's answers would only
teach agreement with that model. So each real track is edited in a way whose effect on mood
is known in direction (metamorphic relations), and the check counts how often the model's
prediction moves that way (benchmarks/metamorphic.py holds the edits and the statistics):

- real recordings (Debian game-music packages, never the speed benchmarks' singularity-,
  hyperrogue- or wesnoth-music), the middle 45 s of each sampled track: faster / slower
  (time-stretch, pitch kept) → arousal up / down; darker (2 kHz low-pass) → arousal down;
  driven (tanh soft clipping at the original's RMS) → arousal up, once as moodmap loads it
  (every file is peak-normalised) and once scaled to the original's RMS at the model's input;
- real compositions (MIDI files from Debian packages, the first 75 s of score) played by
  FluidSynth with the General MIDI soundfont, in their mode and in the parallel major/minor
  → valence(major) > valence(minor); with minor seconds / tritones added → valence down; an
  octave lower → valence down; tempo ×1.25 / ×0.8 → arousal up / down;
- spread: the sd of the predictions over the real tracks beside the sd over synthetic
  validation music (the model cards' numbers, and a fresh `moodmap synth` set).

Predictions go through the same steps as ``predict_file`` (centred excerpt windows of the
written WAV, log-mel, the shipped ONNX model, held inside the rating scale) and are cached
per (track, edit, model) in build/real_music/, so a rerun only does what is new. The Debian
packages are installed when missing (apt-get; root); their audio is never written anywhere
but a temporary folder.

Run: .venv/bin/python benchmarks/real_music.py [--models improved,paper] [--quick] [--json FILE]
     [--report docs/research/real-music.md | --no-report]
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

import metamorphic as mm

HERE = Path(__file__).parent
ROOT = HERE.parent
CACHE = ROOT / "build" / "real_music"
VERSION = "1"  # bump when an edit or the prediction path changes: it keys the cache
AUDIO_PACKAGES = ("asc-music", "planetblupi-music-ogg", "warzone2100-music", "nexuiz-music", "ufoai-music",
                  "fb-music-high", "xblast-tnt-musics")
MIDI_PACKAGES = ("planetblupi-music-midi", "openttd-openmsx")
TOOL_PACKAGES = ("fluidsynth", "fluid-soundfont-gm", "rubberband-cli")
AUDIO_SUFFIXES = (".ogg", ".opus", ".mp3", ".flac", ".wav")
SECONDS = 45.0  # what each variant lasts: three 15 s windows, the models' own layout
WORK_RATE = 22050  # the edits are made at this rate; moodmap resamples to its own on loading
MIDI_SECONDS = 75.0  # of score (original tempo) rendered per piece
MIDI_RATE = 16000
SYNTH_SEED = 7


@dataclass(frozen=True)
class Track:
    package: str
    name: str  # file path, or "archive.pk3:member"
    identity: str  # what keys the cache: path, size and mtime (member: its CRC)

    def read_span(self, seconds: float, workdir: Path) -> np.ndarray:
        """The middle ``seconds`` of the track, mono at WORK_RATE, peak-normalised."""
        from moodmap.core.audio import load_audio, probe

        path = self._local(workdir)
        duration = probe(path).duration
        start = max(0.0, (duration - seconds) / 2)
        audio = load_audio(path, WORK_RATE, start, min(seconds, duration))
        if path.parent == workdir:
            path.unlink()
        return audio

    def _local(self, workdir: Path) -> Path:
        if ".pk3:" not in self.name:
            return Path(self.name)
        archive, member = self.name.split(".pk3:", 1)
        target = workdir / Path(member).name
        with zipfile.ZipFile(archive + ".pk3") as z:
            target.write_bytes(z.read(member))
        return target


# --- packages and tracks ------------------------------------------------------------------------

def ensure_packages(packages: tuple[str, ...]) -> list[str]:
    """Install the missing ones (apt-get); the names that are still missing afterwards."""
    missing = [p for p in packages if not _installed(p)]
    if missing:
        print(f"installing {' '.join(missing)} (apt-get)", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", *missing], capture_output=True, text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode != 0:
            print(f"apt-get could not install them (not root, or no package list?): "
                  f"{(done.stderr.strip().splitlines() or ['no reason given'])[-1]}", file=sys.stderr)
    return [p for p in packages if not _installed(p)]


def _installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return done.returncode == 0 and "install ok installed" in done.stdout


def package_files(package: str) -> list[Path]:
    listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    return [Path(line) for line in listing.stdout.splitlines() if Path(line).is_file()]


def audio_tracks(package: str, min_seconds: float) -> list[Track]:
    """The package's music at least ``min_seconds`` long: plain files and the OGGs inside .pk3 archives."""
    found = []
    for path in package_files(package):
        if path.suffix.lower() in AUDIO_SUFFIXES:
            st = path.stat()
            found.append(Track(package, str(path), f"{path}|{st.st_size}|{st.st_mtime_ns}"))
        elif path.suffix.lower() == ".pk3":
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    if info.filename.lower().endswith(AUDIO_SUFFIXES):
                        found.append(Track(package, f"{path}:{info.filename}", f"{path}:{info.filename}|{info.CRC}"))
    return sorted((t for t in found if _duration(t) >= min_seconds), key=lambda t: t.name)


def _duration(track: Track) -> float:
    if ".pk3:" in track.name:
        archive, member = track.name.split(".pk3:", 1)
        with zipfile.ZipFile(archive + ".pk3") as z:
            return sf.info(io.BytesIO(z.read(member))).duration
    from moodmap.core.audio import probe
    from moodmap.core.errors import AudioError
    try:
        return probe(track.name).duration
    except AudioError:
        return 0.0


def sample(items: list, count: int, seed: int, package: str) -> list:
    """A fixed, seeded choice of up to ``count`` items of one package (in their sorted order)."""
    if len(items) <= count:
        return list(items)
    rng = np.random.default_rng([seed, int(hashlib.sha256(package.encode()).hexdigest()[:8], 16)])
    return [items[i] for i in sorted(rng.choice(len(items), size=count, replace=False))]


# --- predictions ---------------------------------------------------------------------------------

class Models:
    """The shipped models by name, each a scorer of excerpt windows, with a prediction cache."""

    def __init__(self, names: list[str], cache_file: Path):
        from moodmap.inference.registry import resolve

        self.resolved = {name: resolve(name) for name in names}
        self.cache_file = cache_file
        self.cache: dict[str, list[float]] = json.loads(cache_file.read_text()) if cache_file.exists() else {}
        self.dirty = 0
        self._windows: dict = {}  # (excerpt layout, wav) → windows: models sharing a layout cut them once
        self._logmel: dict = {}  # (feature config, id of windows) → (windows, log-mel): and compute it once

    def key(self, model: str, *parts: str) -> str:
        return hashlib.sha256("|".join((VERSION, self.resolved[model].sha256, *parts)).encode()).hexdigest()[:32]

    def cached(self, model: str, *parts: str) -> list[float] | None:
        return self.cache.get(self.key(model, *parts))

    def store(self, value: tuple[float, float], model: str, *parts: str) -> None:
        self.cache[self.key(model, *parts)] = [float(value[0]), float(value[1])]
        self.dirty += 1
        if self.dirty >= 20:
            self.save()

    def save(self) -> None:
        if self.dirty:
            from moodmap.core.atomic import atomic_write_text

            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.cache_file, json.dumps(self.cache))
            self.dirty = 0

    def windows(self, model: str, wav: Path) -> np.ndarray:
        """The excerpt windows ``predict_file`` cuts from ``wav`` for this model (centred, peak-normalised)."""
        from moodmap.core.audio import load_excerpts
        from moodmap.inference.predict import tagging_config

        layout = tagging_config(self.resolved[model].predictor.feature_config)
        if (layout, str(wav)) not in self._windows:
            self._windows[layout, str(wav)] = load_excerpts(wav, layout)[0]
        return self._windows[layout, str(wav)]

    def score(self, model: str, windows: np.ndarray) -> tuple[float, float]:
        """(valence, arousal) of a song from its windows, as ``predict_file`` computes it."""
        from moodmap.core.features import logmel
        from moodmap.inference.predict import _predict  # the held (1–9 range) excerpt predictions predict_file averages

        predictor = self.resolved[model].predictor
        key = (predictor.feature_config, id(windows))
        if key not in self._logmel:  # the windows are kept beside, so their id is not reused meanwhile
            self._logmel[key] = (windows, logmel(windows, predictor.feature_config))
        values = _predict(predictor, self._logmel[key][1]).mean(axis=0)
        return float(values[0]), float(values[1])

    def forget(self) -> None:
        """Drop the windows and log-mels kept for the current files (their paths are used again)."""
        self._windows.clear()
        self._logmel.clear()


def write_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    sf.write(str(path), audio, rate, subtype="FLOAT")
    return path


def measure_audio(tracks: list[Track], models: Models, workdir: Path, seconds: float = SECONDS) -> dict:
    """{track name: {variant: {model: [valence, arousal]}}} for the audio relations (each variant
    ``seconds`` long)."""
    variants = [v for v in mm.AUDIO_VARIANTS if v not in mm.RUBBERBAND or shutil.which("rubberband")]
    out = {}
    for i, track in enumerate(tracks, 1):
        results = {v: {m: models.cached(m, track.identity, v) for m in models.resolved} for v in variants}
        missing = {v for v, per in results.items() if any(value is None for value in per.values())}
        if missing:
            span = track.read_span(seconds * mm.FASTER + 0.5, workdir)
            audio = mm.audio_variants(span, WORK_RATE, seconds, missing)
            wavs = {v: write_wav(workdir / f"{v}.wav", a, WORK_RATE) for v, a in audio.items()}
            for model in models.resolved:
                windows = {v: models.windows(model, wav) for v, wav in wavs.items()}
                if "driven" in windows:
                    windows["driven_rms"] = mm.rms_matched(windows["driven"], windows["original"])
                for v in missing:
                    value = models.score(model, windows[v])
                    models.store(value, model, track.identity, v)
                    results[v][model] = list(value)
            for wav in wavs.values():
                wav.unlink()
            models.forget()
        out[track.name] = results
        print(f"\raudio {i}/{len(tracks)}", end="", flush=True)
    print()
    models.save()
    return out


def check_same_path(track: Track, models: Models, workdir: Path) -> float:
    """Largest difference between this check's score and ``predict_file`` on the same WAV (should be ~0)."""
    from moodmap.inference.predict import predict_file

    wav = write_wav(workdir / "check.wav", mm.centred(track.read_span(SECONDS, workdir), int(SECONDS * WORK_RATE)),
                    WORK_RATE)
    worst = 0.0
    for model, resolved in models.resolved.items():
        p = predict_file(wav, resolved.predictor, model)
        mine = models.score(model, models.windows(model, wav))
        worst = max(worst, abs(p.valence - mine[0]), abs(p.arousal - mine[1]))
    wav.unlink()
    models.forget()
    return worst


# --- MIDI -------------------------------------------------------------------------------------

def truncated(midi, seconds: float):
    """The first ``seconds`` of a piece's score (original tempo): later note-ons dropped, sounding notes
    released at the cut."""
    import mido

    tempo_map = sorted((tick, m.tempo) for track in midi.tracks for tick, m in _absolute(track)
                       if m.type == "set_tempo")
    cut, now, last_tick, tempo = None, 0.0, 0, 500_000
    for tick, new_tempo in tempo_map + [(None, None)]:
        end = tick if tick is not None else float("inf")
        span = mido.tick2second(end - last_tick, midi.ticks_per_beat, tempo) if tick is not None else float("inf")
        if now + span >= seconds:
            cut = last_tick + int(mido.second2tick(seconds - now, midi.ticks_per_beat, tempo))
            break
        now, last_tick, tempo = now + span, tick, new_tempo
    out = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        new, previous, sounding = mido.MidiTrack(), 0, set()
        for tick, message in _absolute(track):
            if message.type == "end_of_track":
                continue
            if tick > cut:
                break
            if message.type == "note_on" and message.velocity > 0:
                sounding.add((message.channel, message.note))
            elif message.type in ("note_on", "note_off"):
                sounding.discard((message.channel, message.note))
            new.append(message.copy(time=tick - previous))
            previous = tick
        for i, (channel, note) in enumerate(sorted(sounding)):
            new.append(mido.Message("note_off", channel=channel, note=note, velocity=0,
                                    time=(cut - previous) if i == 0 else 0))
        new.append(mido.MetaMessage("end_of_track", time=0))
        out.tracks.append(new)
    return out


def _absolute(track):
    tick = 0
    for message in track:
        tick += message.time
        yield tick, message


def render(midi, wav: Path, soundfont: Path) -> Path:
    """One MIDI file through FluidSynth with the soundfont renderer's settings (reverb and chorus on)."""
    mid = wav.with_suffix(".mid")
    midi.save(str(mid))
    command = ["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(MIDI_RATE), "-R", "1", "-C", "1",
               "-o", "synth.cpu-cores=1", "-T", "wav", "-O", "float", "-F", str(wav), str(soundfont), str(mid)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    mid.unlink()
    if done.returncode != 0 or not wav.exists():
        raise RuntimeError(f"fluidsynth failed on {wav.stem}: {done.stderr.strip()[-200:]}")
    return wav


def midi_pieces(count: int, seed: int) -> list[tuple[str, Path]]:
    """(package, path) of ``count`` MIDI files sampled from each installed MIDI package."""
    pieces = []
    for package in MIDI_PACKAGES:
        found = sorted(p for p in package_files(package) if p.suffix.lower() in (".mid", ".midi"))
        pieces += [(package, p) for p in sample(found, count, seed, package)]
    return pieces


def midi_identity(path: Path, soundfont: Path) -> str:
    """What a piece's cached predictions are keyed on: the file, the soundfont and the rendering."""
    st, font = path.stat(), soundfont.stat()
    return f"{path}|{st.st_size}|{st.st_mtime_ns}|{soundfont}|{font.st_size}|{MIDI_SECONDS}|{MIDI_RATE}"


def measure_midi(pieces: list[tuple[str, Path]], models: Models, workdir: Path, soundfont: Path) -> tuple[dict, dict]:
    """({piece: {variant: {model: [v, a]}}}, {piece: key found}) for the MIDI relations."""
    import mido

    variants = mm.MIDI_VARIANTS
    out, keys = {}, {}
    for i, (package, path) in enumerate(pieces, 1):
        identity = midi_identity(path, soundfont)
        midi = truncated(mido.MidiFile(str(path)), MIDI_SECONDS)
        edits, found = mm.midi_variants(midi)
        keys[str(path)] = found
        results = {v: {m: models.cached(m, identity, v) for m in models.resolved} for v in variants}
        if any(value is None for per in results.values() for value in per.values()):
            rendered = {}
            for v in variants:
                same = next((w for w, wav in rendered.items() if edits[w] is edits[v]), None)
                rendered[v] = rendered[same] if same else render(edits[v], workdir / f"{v}.wav", soundfont)
            for model in models.resolved:
                for v in variants:
                    value = models.score(model, models.windows(model, rendered[v]))
                    models.store(value, model, identity, v)
                    results[v][model] = list(value)
            for wav in set(rendered.values()):
                wav.unlink()
            models.forget()
        out[str(path)] = results
        print(f"\rMIDI {i}/{len(pieces)}", end="", flush=True)
    print()
    models.save()
    return out, keys


# --- spread -----------------------------------------------------------------------------------

def card_spread(model: str) -> tuple[float, float] | None:
    """The model card's validation prediction sd (valence, arousal), if it records one."""
    import moodmap

    card = Path(moodmap.__file__).parent / "weights" / f"{model}.md"
    if not card.exists():
        return None
    row = re.search(r"^\| prediction sd \| ([0-9.]+) ± [0-9.]+ \| [^|]+\| ([0-9.]+) ±", card.read_text(), re.M)
    return (float(row.group(1)), float(row.group(2))) if row else None


def synth_spread(models: Models, songs: int) -> dict:
    """sd of each model's predictions over a fresh ``moodmap synth`` set (``songs`` songs, seed 7,
    played by the renderer the model was trained on), and the sd of the set's labels."""
    from moodmap.inference.registry import model_entry
    from moodmap.inference.predict import predict_file

    out = {}
    for model in models.resolved:
        renderer = (model_entry(model).get("provenance") or {}).get("synth", {}).get("renderer", "numpy")
        folder = CACHE / f"synth-{renderer}-{songs}-seed{SYNTH_SEED}"
        if not (folder / "synth.json").exists() or len(list(folder.glob("clips*/*"))) < songs:
            subprocess.run([str(ROOT / ".venv" / "bin" / "moodmap"), "synth", str(folder), "--songs", str(songs),
                            "--seed", str(SYNTH_SEED), "--renderer", renderer, "--jobs", "1"], check=True,
                           stdout=subprocess.DEVNULL)
        values = []
        for clip in sorted(folder.glob("clips*/*")):
            st = clip.stat()
            parts = (f"synth|{clip}|{st.st_size}|{st.st_mtime_ns}",)
            value = models.cached(model, *parts)
            if value is None:
                p = predict_file(clip, models.resolved[model].predictor, model)
                value = [p.valence, p.arousal]
                models.store(value, model, *parts)
            values.append(value)
        labels = np.loadtxt(folder / "annotations" / "static_annotations.csv", delimiter=",", skiprows=1)
        values = np.array(values)
        out[model] = {"renderer": renderer, "songs": len(values), "sd_valence": mm.spread(values[:, 0]),
                      "sd_arousal": mm.spread(values[:, 1]), "label_sd_valence": mm.spread(labels[:, 3] / 10),
                      "label_sd_arousal": mm.spread(labels[:, 1] / 10)}
    models.save()
    return out


# --- relations over tracks, report ----------------------------------------------------------------

def relation_table(measured: dict, relations, model: str, seed: int) -> list[dict]:
    rows = []
    for k, relation in enumerate(relations):
        rows.append({"relation": relation.name, "label": relation.label, "dimension": relation.dimension,
                     "expected": relation.expected, "variant": relation.variant, "against": relation.against,
                     **mm.summarize(mm.deltas(measured, relation, model), relation.expected, seed + k)})
    return rows


def fmt_row(row: dict) -> str:
    if not row["n"]:
        return f"| {row['label']} | 0 | — | — |"
    share, mean = row["share_ci"], row["mean_ci"]
    return (f"| {row['label']} | {row['n']} | {row['share_right']:.0%} [{share[0]:.0%}, {share[1]:.0%}] "
            f"| {row['mean_delta']:+.3f} [{mean[0]:+.3f}, {mean[1]:+.3f}] |")


def markdown(result: dict) -> str:
    lines = [f"# A real-music check without labels ({result['date']})", "",
             f"Machine: {result['machine']}. Command: `{result['command']}` ({result['seconds']:.0f} s, "
             f"{result['cpu_seconds']:.0f} CPU-s{', reusing cached predictions' if result['cached'] else ''}"
             + (f"; the first run, nothing cached, took {cold['seconds'] / 60:.0f} min, "
                f"{cold['cpu_seconds'] / 60:.1f} CPU-min, on {cold['date']}" if (cold := result["cold_run"]) else "")
             + "). "
             "Generated by `benchmarks/real_music.py`; the numbers are also in its `--json` output.", "",
             "**Real recordings** (the middle 45 s of each track, a seeded sample per package): " +
             ", ".join(f"{p} {n}" for p, n in result["audio_packages"].items()) + "." +
             (f" Not usable: {', '.join(result['skipped_packages'])}." if result["skipped_packages"] else ""), "",
             "**Real compositions** (MIDI, the first 75 s of score, FluidSynth + FluidR3 GM at 16 kHz): " +
             ", ".join(f"{p} {n}" for p, n in result["midi_packages"].items()) +
             f"; detected modes: {result['modes']['major']} major, {result['modes']['minor']} minor.", ""]
    for model in result["models"]:
        lines += [f"## `{model}`", "", "| relation | n | share right [95 % CI] | mean Δ [95 % CI] |",
                  "|---|---:|---:|---:|"]
        lines += [fmt_row(r) for r in result["audio"][model]]
        lines += [fmt_row(r) for r in result["midi"][model]]
        lines.append("")
    lines += ["## Spread", "",
              "sd of the song predictions (0–1 scale). Goal for later model work: real ≥ 0.8 × synthetic.", "",
              "| model | real recordings (n) V / A | MIDI renderings (n) V / A | synthetic, model card V / A "
              "| synthetic, fresh set (renderer, n) V / A | real / card |", "|---|---:|---:|---:|---:|---:|"]
    for model in result["models"]:
        s = result["spread"][model]
        card, fresh = s["card"], s.get("fresh")
        card_cell = f"{card[0]:.3f} / {card[1]:.3f}" if card else "—"
        fresh_cell = (f"({fresh['renderer']}, {fresh['songs']}) {fresh['sd_valence']:.3f} / {fresh['sd_arousal']:.3f}"
                      if fresh else "—")
        ratio = f"{s['real_valence'] / card[0]:.2f} / {s['real_arousal'] / card[1]:.2f}" if card else "—"
        lines.append(f"| {model} | ({s['real_n']}) {s['real_valence']:.3f} / {s['real_arousal']:.3f} "
                     f"| ({s['midi_n']}) {s['midi_valence']:.3f} / {s['midi_arousal']:.3f} "
                     f"| {card_cell} | {fresh_cell} | {ratio} |")
    fresh_labels = "; ".join(f"{f['renderer']}: {f['label_sd_valence']:.3f} / {f['label_sd_arousal']:.3f}"
                             for f in {s["fresh"]["renderer"]: s["fresh"] for s in result["spread"].values()
                                       if s.get("fresh")}.values())
    lines += ["", "*Synthetic, model card*: the song-level validation prediction sd in the model's card "
              "(`src/moodmap/weights/NAME.md`, mean over its training runs). *Fresh set*: `moodmap synth` "
              f"with seed {SYNTH_SEED}, played by the renderer the model was trained on, predicted here"
              + (f" (its labels' sd V / A — {fresh_labels})" if fresh_labels else "") + ". *Real / card* is the "
              "ratio the goal is about."]
    lines += ["", "## How to read this", "",
              "- Each row is one edit of each piece whose direction music psychology predicts; Δ is the prediction "
              "of the edited version minus that of the original (for the mode row: the major rendering minus the "
              "minor one, whichever was the original), on the 0–1 scale. *Share right* counts pieces whose "
              "prediction moved the predicted way (no move counts as wrong); 50 % is a coin. Intervals: 95 % "
              "percentile bootstrap over pieces (2 000 resamples, seeded).",
              "- Goal for later model work: every relation right on ≥ 85 % of pieces, and the real-music "
              "sd ≥ 0.8 × the synthetic validation sd. These are not labels: a model can pass every relation and "
              "still be off in level, and a mean Δ of 0.01 is a real but tiny move (a 1–9 rating moves by 0.1).",
              "- *driven* is written at the original's RMS, but moodmap peak-normalises every file it reads, so at "
              "the model's input the driven version has the same peak and a higher RMS (it is louder, as compressed "
              "music is); *driven, same RMS* scales each of its excerpt windows back to the original window's RMS "
              "before the log-mel, which isolates the change of timbre. The low-pass and the tempo edits keep the "
              "source's level; the loader peak-normalises them too.",
              "- Tempo is changed twice over: by librosa's phase vocoder (`librosa.effects.time_stretch`), which "
              "smears transients whichever way it stretches, and by Rubber Band's R3 engine (Debian "
              "`rubberband-cli`), which keeps them sharper. The faster version is the middle 56 s of the track "
              "squeezed into 45 s, the slower the middle 36 s drawn out to 45 s, so every version is cut into the "
              "same three centred 15 s windows. Each *control* row sends the original through the same stretcher "
              "at ×1 (its share: the tracks that the processing alone calmed); *faster vs slower* compares two "
              "versions that both went through it, so only the tempo differs.",
              "- MIDI: the mode is found with Krumhansl-Schmuckler profiles on the duration-weighted pitch-class "
              "histogram (drums excluded); the parallel mode moves scale degrees 3, 6 and 7 by a semitone relative "
              "to that tonic (down from major, up from minor), drums untouched. Dissonance adds, above every note "
              "from C3 up, a minor second (even MIDI note numbers) or a tritone (odd). Every version is rendered "
              "with the same soundfont and settings.",
              "- Real recordings and MIDI renderings are game music: a varied but not a representative collection."]
    return "\n".join(lines) + "\n"


def summary(result: dict) -> str:
    out = []
    for model in result["models"]:
        cells = [f"{r['relation']} {r['share_right']:.0%}" for r in result["audio"][model] if r["n"]]
        cells += [f"midi:{r['relation']} {r['share_right']:.0%}" for r in result["midi"][model] if r["n"]]
        s = result["spread"][model]
        out.append(f"{model}: " + ", ".join(cells) + f"; sd real {s['real_valence']:.3f}/{s['real_arousal']:.3f}"
                   + (f" vs card {s['card'][0]:.3f}/{s['card'][1]:.3f}" if s["card"] else ""))
    return "\n".join(out)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (FluidSynth, Rubber Band, moodmap synth)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="improved,paper")
    parser.add_argument("--quick", action="store_true", help="a small sample: 3 tracks a package, 4 MIDI pieces, "
                                                             "12 synthetic songs; no report unless --report")
    parser.add_argument("--per-package", type=int, default=16, help="tracks sampled per audio package")
    parser.add_argument("--midi-per-package", type=int, default=16, help="MIDI pieces sampled per package")
    parser.add_argument("--synth-songs", type=int, default=60, help="fresh synthetic set for the spread (0: card only)")
    parser.add_argument("--seed", type=int, default=0, help="track sample and bootstrap seed")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--report", type=Path, help="markdown report (default docs/research/real-music.md; not with --quick)")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.per_package, args.midi_per_package, args.synth_songs = 3, 2, min(args.synth_songs, 12)
    report = None if args.no_report else args.report or (None if args.quick else ROOT / "docs" / "research" / "real-music.md")
    started = time.time()
    missing = ensure_packages(AUDIO_PACKAGES + MIDI_PACKAGES + TOOL_PACKAGES)
    if missing:
        print(f"missing (left out): {', '.join(missing)}", file=sys.stderr)
    tracks, audio_counts, skipped = [], {}, []
    for package in AUDIO_PACKAGES:
        found = audio_tracks(package, SECONDS * mm.FASTER + 1) if package not in missing else []
        if not found:
            kinds = sorted({p.suffix or p.name for p in package_files(package) if "/doc/" not in str(p)})
            held = "not installed" if package in missing else "holds only " + ", ".join(kinds) + " files"
            skipped.append(f"{package} ({held}: no track moodmap decodes that lasts "
                           f"≥ {SECONDS * mm.FASTER + 1:.0f} s)")
            continue
        chosen = sample(found, args.per_package, args.seed, package)
        tracks += chosen
        audio_counts[package] = len(chosen)
    pieces = midi_pieces(args.midi_per_package, args.seed)
    midi_counts = {package: sum(p == package for p, _ in pieces) for package in MIDI_PACKAGES}
    midi_counts = {package: n for package, n in midi_counts.items() if n}
    names = [m for m in args.models.split(",") if m]
    models = Models(names, CACHE / "predictions.json")
    cached_before = len(models.cache)
    from moodmap.research.datasets.soundfont import find_soundfont

    with tempfile.TemporaryDirectory(prefix="moodmap-real-music-") as tmp:
        workdir = Path(tmp)
        same_path = check_same_path(tracks[0], models, workdir)
        if same_path > 1e-4:
            raise SystemExit(f"this check's scoring differs from predict_file by {same_path:.2g}: fix it first")
        audio = measure_audio(tracks, models, workdir)
        midi, keys = measure_midi(pieces, models, workdir, find_soundfont()) if pieces else ({}, {})
    synth = synth_spread(models, args.synth_songs) if args.synth_songs else {}
    elapsed, cpu = time.time() - started, cpu_seconds()
    cold_file = CACHE / ("cold-run-quick.json" if args.quick else "cold-run.json")
    if cached_before == 0:  # nothing was cached: this run's time is what a first run costs
        cold_file.write_text(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "date": str(datetime.date.today())}))
    cold = json.loads(cold_file.read_text()) if cold_file.exists() else None
    result = {"date": str(datetime.date.today()),
              "command": "python benchmarks/real_music.py " + " ".join(sys.argv[1:]),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "seconds": elapsed, "cpu_seconds": cpu, "cached": cached_before > 0, "cold_run": cold,
              "models": names, "seed": args.seed,
              "audio_packages": audio_counts, "skipped_packages": skipped, "midi_packages": midi_counts,
              "modes": {m: sum(k["mode"] == m for k in keys.values()) for m in ("major", "minor")},
              "same_path_max_difference": same_path, "keys": keys, "audio": {}, "midi": {}, "spread": {},
              "per_track": {"audio": audio, "midi": midi}}
    for model in names:
        result["audio"][model] = relation_table(audio, mm.AUDIO_RELATIONS, model, args.seed)
        result["midi"][model] = relation_table(midi, mm.MIDI_RELATIONS, model, args.seed + 100) if midi else []
        real = np.array([per["original"][model] for per in audio.values()])
        rendered = np.array([per["original"][model] for per in midi.values()]).reshape(-1, 2)
        result["spread"][model] = {"real_n": len(real), "real_valence": mm.spread(real[:, 0]),
                                   "real_arousal": mm.spread(real[:, 1]), "midi_n": len(rendered),
                                   "midi_valence": mm.spread(rendered[:, 0]), "midi_arousal": mm.spread(rendered[:, 1]),
                                   "real_mean": real.mean(axis=0).tolist(), "card": card_spread(model),
                                   "fresh": synth.get(model)}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if report:
        report.write_text(markdown(result))
        print(f"wrote {report}")
    print(summary(result))
    print(f"{len(tracks)} tracks, {len(pieces)} MIDI pieces, {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
