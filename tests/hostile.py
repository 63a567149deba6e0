"""A corpus of hostile input, made on the fly: every way a real library's files go wrong.

``make_corpus(folder, seed)`` writes the files and returns, per file, what moodmap may
answer: ``OK`` (it must be analysed) or the set of typed errors it may raise instead.
Nothing here is committed audio; everything is generated from a seed in well under a
second per file (the two-hour file is sparse: a real RIFF header, a minute of music in
the middle and holes elsewhere).
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

OK = "ok"
ANY_AUDIO_ERROR = frozenset({"MissingFileError", "UnreadableFileError", "EmptyFileError", "DecodeError",
                             "TruncatedAudioError", "InvalidSamplesError", "SilentAudioError", "TooShortError"})


@dataclass
class Case:
    path: Path
    why: str
    allowed: frozenset = field(default_factory=lambda: frozenset({OK}))


def music(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A few seconds of chords with a beat: enough structure for features, float32 in [-0.8, 0.8]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    freqs = rng.choice([110.0, 146.8, 196.0, 220.0, 261.6, 329.6, 392.0], size=3, replace=False)
    nyquist = rate / 2 * 0.9
    tone = sum(np.sin(2 * np.pi * min(f, nyquist) * t) for f in freqs) / 3
    beat = (np.sin(2 * np.pi * 2.0 * t) > 0.6).astype(np.float32) * rng.normal(0, 0.3, t.size)
    mono = (0.6 * tone + 0.2 * beat).astype(np.float32)
    return np.stack([mono * (0.5 + 0.5 * (c + 1) / channels) for c in range(channels)], axis=1)


FORMATS = {".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3", ".wav": "WAV"}


def _write(path: Path, data: np.ndarray, rate: int, **kw) -> Path:
    """Write through a Python file object: libsndfile refuses file names over ~1 000 characters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        sf.write(handle, data, rate, format=FORMATS[path.suffix.lower()], **kw)
    return path


def _truncate(source: Path, target: Path, fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: max(1, int(len(data) * fraction))])
    return target


def _lying_wav(path: Path, declared_factor: float, rate: int = 22050) -> Path:
    """A 16-bit WAV whose RIFF/data sizes claim ``declared_factor`` × the audio it holds."""
    samples = (music(20, rate)[:, 0] * 32767).astype("<i2").tobytes()
    declared = int(len(samples) * declared_factor)
    header = b"RIFF" + struct.pack("<I", 36 + declared) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", declared)
    path.write_bytes(header + samples)
    return path


def _sparse_two_hours(path: Path, rate: int = 8000) -> Path:
    """A real 2 h mono 16-bit WAV (115 MB apparent, ~1 MB on disk): music from 59:30 to 60:30, holes elsewhere."""
    frames = 2 * 3600 * rate
    size = frames * 2
    header = b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", size)
    middle = (music(60, rate)[:, 0] * 32767).astype("<i2").tobytes()
    with open(path, "wb") as handle:
        handle.write(header)
        handle.seek(len(header) + (frames // 2 - 30 * rate) * 2)
        handle.write(middle)
        handle.truncate(len(header) + size)
    return path


def _float_wav_with(path: Path, value: float, rate: int = 22050) -> Path:
    data = music(20, rate)
    data[rate * 5: rate * 5 + 100, 0] = value
    return _write(path, data, rate, subtype="FLOAT")


def make_corpus(root: Path, seed: int = 0, two_hours: bool = True) -> list[Case]:
    """Write the hostile corpus under ``root``; returns every file with what moodmap may answer."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(path: Path, why: str, *allowed: str) -> None:
        cases.append(Case(path, why, frozenset(allowed or {OK})))

    good = {ext: _write(root / f"good.{ext}", music(20, 44100, 2, seed), 44100) for ext in ("flac", "ogg", "mp3")}
    for ext in good:
        add(good[ext], f"a clean 20 s {ext}")
    (root / "zero.mp3").write_bytes(b"")
    add(root / "zero.mp3", "zero bytes", "EmptyFileError")
    for ext, source in good.items():
        for fraction in sorted(rng.uniform(0.02, 0.98, 3)):
            target = _truncate(source, root / f"truncated-{fraction:.2f}.{ext}", float(fraction))
            # a cut-off file either reads as shorter audio or is called truncated/undecodable; never a crash
            add(target, f"{ext} cut at {fraction:.0%}", OK, "TruncatedAudioError", "DecodeError", "TooShortError")
    (root / "flac-named.mp3").write_bytes(good["flac"].read_bytes())
    add(root / "flac-named.mp3", "a FLAC file with an .mp3 name")
    (root / "ogg-named.wav").write_bytes(good["ogg"].read_bytes())
    add(root / "ogg-named.wav", "an Ogg file with a .wav name")
    (root / "notes.mp3").write_text("shopping list: milk, eggs\n" * 50)
    add(root / "notes.mp3", "text renamed .mp3", "DecodeError")
    (root / "cover.flac").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    add(root / "cover.flac", "a PNG renamed .flac", "DecodeError")
    (root / "noise.ogg").write_bytes(b"OggS" + rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    add(root / "noise.ogg", "an Ogg magic number and random bytes", "DecodeError", "TruncatedAudioError")
    add(_lying_wav(root / "header-claims-more.wav", 3.0), "WAV header declares 3× the audio", "TruncatedAudioError")
    add(_lying_wav(root / "header-claims-less.wav", 0.5), "WAV header declares half the audio")
    for subtype in ("PCM_U8", "PCM_24", "FLOAT", "PCM_32"):
        add(_write(root / f"depth-{subtype}.wav", music(20, 22050, 1, seed), 22050, subtype=subtype), f"{subtype} WAV")
    add(_write(root / "one-second.flac", music(1, 22050), 22050), "a 1 s clip", "TooShortError")
    add(_write(root / "six-seconds.flac", music(6, 22050), 22050), "6 s: padded to one excerpt")
    for channels in (1, 2, 3, 6, 8):
        add(_write(root / f"channels-{channels}.flac", music(20, 22050, channels), 22050), f"{channels} channels")
    for rate in (8000, 11025, 32000, 96000, 192000):
        add(_write(root / f"rate-{rate}.wav", music(20, rate), rate), f"{rate} Hz")
    add(_write(root / "silence.flac", np.zeros((22050 * 20, 1), np.float32), 22050), "digital silence",
        "SilentAudioError")
    add(_write(root / "dc.wav", np.full((22050 * 20, 1), 0.5, np.float32), 22050, subtype="FLOAT"),
        "a constant DC offset", OK, "SilentAudioError")
    add(_write(root / "clipped.flac", np.clip(music(20, 22050) * 8, -1, 1), 22050), "hard clipping")
    add(_float_wav_with(root / "nan.wav", float("nan")), "NaN samples in a float WAV", "InvalidSamplesError")
    add(_float_wav_with(root / "inf.wav", float("inf")), "inf samples in a float WAV", "InvalidSamplesError")
    unicode = root / "Sigur Rós – Hoppípolla (Ελληνικά, 日本語) 🎵.flac"
    add(_write(unicode, music(20, 22050), 22050), "unicode file name")
    deep = root.joinpath(*[f"folder-{i:02d}-" + "x" * 180 for i in range(17)])
    add(_write(deep / ("long-" + "y" * 240 + ".flac"), music(20, 22050), 22050), "a ~3 500-character path")
    locked = _write(root / "locked.flac", music(20, 22050), 22050)
    locked.chmod(0)  # root reads it anyway (then it must simply be analysed)
    add(locked, "no read permission", "UnreadableFileError", *({OK} if os.geteuid() == 0 else set()))
    loop = root / "loop.mp3"
    os.symlink(loop.name, loop)
    add(loop, "a symlink to itself", "UnreadableFileError", "MissingFileError")
    (root / "cycle").mkdir()
    os.symlink("..", root / "cycle" / "up")  # a folder loop: the scan must not walk into it
    dangling = root / "dangling.flac"
    os.symlink("nowhere.flac", dangling)
    add(dangling, "a symlink to nothing", "MissingFileError", "UnreadableFileError")
    if two_hours:
        add(_sparse_two_hours(root / "two-hours.wav"), "a 2 h WAV (sparse; music in the middle)",
            OK, "SilentAudioError")
    return cases
