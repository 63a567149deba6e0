"""Audio in: decode any common file, mono, resample, peak-normalise, cut excerpt windows.

soundfile (libsndfile) decodes wav/flac/ogg/mp3/aiff; PyAV decodes m4a/aac/opus and
anything libsndfile refuses. Only the span covered by the excerpt windows is decoded,
so tagging a 6-minute track reads 45 s of it, not all of it.

Examples
--------
>>> from moodmap.core.audio import plan_windows
>>> from moodmap.core.config import FeatureConfig
>>> [(w.start, w.duration) for w in plan_windows(45.0, FeatureConfig())]
[(0.0, 15.0), (15.0, 15.0), (30.0, 15.0)]
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf
import soxr

from .audio_blocks import BLOCK_FRAMES, downmix
from .config import FeatureConfig
from .errors import (
    DecodeError,
    EmptyFileError,
    InvalidSamplesError,
    MissingFileError,
    SilentAudioError,
    TooLongError,
    TooShortError,
    TruncatedAudioError,
    UnreadableFileError,
    one_line,
)

T = TypeVar("T")

SILENCE_PEAK = 1e-4  # -80 dBFS: below this a file is treated as silent
TRUNCATION_SLACK = 0.25  # seconds a decoder may fall short of the header before we call it truncated


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says: native rate, channels, length."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    decoder: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class Window:
    """One excerpt: ``start`` and ``duration`` in seconds (a short file's last window may
    reach past its end; the samples there are zeros)."""

    start: float
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration


def check_file(path: str | os.PathLike) -> Path:
    """Fail early, with the right error, on files that cannot be decoded at all."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise MissingFileError(path, "no such file") from exc
    except OSError as exc:
        raise UnreadableFileError(path, f"cannot stat: {exc.strerror or exc}") from exc
    if not path.is_file():
        raise UnreadableFileError(path, "not a regular file")
    if stat.st_size == 0:
        raise EmptyFileError(path, "file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise UnreadableFileError(path, "permission denied")
    return path


UNSTATED_FRAMES = 2**62  # libsndfile says SF_COUNT_MAX (2**63 - 1) for a length not stated (FLAC total samples 0)


def probe(path: str | os.PathLike, limit: float | None = None) -> AudioInfo:
    """Read the header: sample rate, channels and length, from soundfile or PyAV.

    A length the file does not state is counted by decoding it frame by frame, keeping no
    samples; ``limit`` (seconds) stops that count just past it (the length is then "more
    than ``limit``"), so a small file of hours at 192 kHz costs neither memory nor minutes."""
    path = check_file(path)
    try:
        info = sf.info(str(path))
        if 0 < info.frames < UNSTATED_FRAMES and info.samplerate > 0:
            _check_wav_length(path)
            return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames), "soundfile")
        sf_reason = "header reports no frames" if info.frames <= 0 else "header states no length"
    except sf.SoundFileError as exc:  # libsndfile's refusal; anything else is moodmap's own error
        sf_reason = _one_line(exc)
    return _probe_pyav(path, sf_reason, limit)


def _check_wav_length(path: Path) -> None:
    """libsndfile quietly shortens a WAV whose data chunk is cut off; we call that truncated."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    position = 12
    while position + 8 <= len(head):
        chunk, size = head[position:position + 4], int.from_bytes(head[position + 4:position + 8], "little")
        if chunk == b"data":
            available = path.stat().st_size - (position + 8)
            if size != 0xFFFFFFFF and available < size * 0.99:
                raise TruncatedAudioError(path, f"WAV header declares {size} bytes of audio but the file holds "
                                          f"{available}")
            return
        position += 8 + size + (size & 1)


def plan_windows(duration: float, config: FeatureConfig, path: str | os.PathLike | None = None) -> list[Window]:
    """Choose the excerpt windows for a file of ``duration`` seconds.

    Up to ``config.excerpts`` windows, ``config.hop_seconds`` apart; a window that
    overruns the end by at most ``tail_tolerance_seconds`` is kept (and zero-padded).
    A file shorter than one excerpt gives one padded window, or ``TooShortError``.
    """
    length, hop = config.excerpt_seconds, config.hop_seconds
    fits = 0
    while fits < config.excerpts and fits * hop + length <= duration + config.tail_tolerance_seconds:
        fits += 1
    if fits == 0:
        if config.short_policy == "pad" and duration >= config.min_seconds:
            return [Window(0.0, length)]
        raise TooShortError(path, f"{duration:.1f} s of audio; need at least "
                            f"{length if config.short_policy == 'reject' else config.min_seconds:.1f} s")
    span = (fits - 1) * hop + length
    offset = max(0.0, (duration - span) / 2) if config.anchor == "center" else 0.0
    return [Window(round(offset + i * hop, 6), length) for i in range(fits)]


def load_audio(path: str | os.PathLike, sample_rate: int = 16000, start: float = 0.0,
               duration: float | None = None, normalize: bool = True, quality: str = "HQ") -> np.ndarray:
    """Mono float32 audio at ``sample_rate``, peak-normalised to [-1, 1] unless told otherwise.

    Parameters
    ----------
    path : audio file (wav, flac, ogg, mp3, aiff, m4a, aac, opus, …)
    sample_rate : target rate in Hz (soxr resampling)
    start, duration : the span to decode, in seconds (``None``: to the end)
    normalize : divide by the peak so loudness does not leak into the features
    quality : soxr quality (``"HQ"`` is librosa's default ``soxr_hq``)

    Raises
    ------
    AudioError
        A subclass naming the file and the reason: missing, empty, unreadable,
        not decodable, truncated, NaN/inf samples, or silent.
    """
    path = check_file(path)
    decoded = _decode(path, start, duration, sample_rate, quality)
    return finish(decoded.samples, path, normalize)


def load_excerpts(path: str | os.PathLike, config: FeatureConfig = FeatureConfig()) -> tuple[np.ndarray, list[Window]]:
    """The excerpt windows of a file as a (n, excerpt_samples) float32 array.

    The span covering all windows is decoded once (seeking to its start), resampled
    and peak-normalised as a whole, then cut; windows past the end are zero-padded.
    """
    info = probe(path)
    windows = plan_windows(info.duration, config, info.path)
    span_start, span_end = windows[0].start, min(windows[-1].end, info.duration)
    decoded = _decode(info.path, span_start, span_end - span_start, config.sample_rate, config.resample_quality)
    expected = (span_end - span_start) * decoded.native_rate
    if decoded.native_frames < expected - TRUNCATION_SLACK * decoded.native_rate:
        raise TruncatedAudioError(info.path, f"header promises {info.duration:.1f} s but only "
                                  f"{_decodable_seconds(info.path, info.duration):.1f} s of audio decode")
    audio = finish(decoded.samples, info.path, True)
    return cut_windows(audio, windows, span_start, config), windows


def _decodable_seconds(path: Path, most: float) -> float:
    """How much of a file really decodes from its start (counted, not kept; at most ``most``
    seconds): a seek past the end of a cut-off file decodes nothing, so the span's own count
    would not say where its audio stops."""
    def count(name: str) -> float:
        rate, blocks = BLOCK_READERS[name](path, 0.0, most)
        return sum(block.shape[0] for block in blocks) / rate if rate > 0 else 0.0

    try:
        return _with_a_decoder(path, count)[1]
    except DecodeError:
        return 0.0


def cut_windows(audio: np.ndarray, windows: list[Window], offset: float, config: FeatureConfig) -> np.ndarray:
    """Slice ``windows`` out of ``audio`` (which starts at ``offset`` s), zero-padding short ones."""
    n = config.excerpt_samples
    out = np.zeros((len(windows), n), dtype=np.float32)
    for i, window in enumerate(windows):
        first = int(round((window.start - offset) * config.sample_rate))
        piece = audio[first:first + n]
        out[i, :len(piece)] = piece
    return out


def finish(samples: np.ndarray, path: Path, normalize: bool = True) -> np.ndarray:
    """Reject empty, non-finite and silent audio; peak-normalise the rest."""
    finite = bool(np.isfinite(samples).all())
    peak = check_samples(path, samples.size, finite, float(np.max(np.abs(samples))) if samples.size and finite else 0.0)
    if normalize:
        samples *= np.float32(1.0 / peak)
    return samples


def check_samples(path: Path, count: int, finite: bool, peak: float) -> float:
    """The peak of decoded audio, after refusing none at all, NaN/inf samples, or silence."""
    if count == 0:
        raise DecodeError(path, "decoded no audio samples")
    if not finite:
        raise InvalidSamplesError(path, "audio contains NaN or infinite samples")
    if peak < SILENCE_PEAK:
        raise SilentAudioError(path, f"audio is silent (peak {peak:.1e})")
    return peak


@dataclass
class _Decoded:
    samples: np.ndarray  # mono float32 at the target rate (or native when none)
    native_rate: int
    native_frames: int


def _decode(path: Path, start: float, duration: float | None, sample_rate: int | None, quality: str) -> _Decoded:
    """Stream blocks from the preferred decoder (the other when it refuses), downmix, resample."""
    return _with_a_decoder(path, lambda name: _collect(BLOCK_READERS[name](path, start, duration),
                                                       sample_rate, quality))[1]


def _with_a_decoder(path: Path, attempt: Callable[[str], T]) -> tuple[str, T]:
    """``attempt(decoder)`` with the preferred decoder, then the other when it refuses; the
    decoder that succeeded and its result, or a DecodeError giving both reasons."""
    reasons = []
    for name in decoders_for(path):
        try:
            return name, attempt(name)
        except decoder_errors() as exc:
            reasons.append(f"{name}: {_one_line(exc)}")
    raise DecodeError(path, f"not a decodable audio file ({'; '.join(reasons)})")


def decoders_for(path: Path) -> tuple[str, str]:
    """Decoder order: soundfile first, except Ogg, where FFmpeg's decoder is ~20 % faster
    with the same samples (within 2e-7; see benchmarks/RESULTS.md)."""
    return ("pyav", "soundfile") if path.suffix.lower() in PYAV_FIRST else ("soundfile", "pyav")


PYAV_FIRST = {".ogg", ".oga"}
_DECODER_ERRORS = (sf.SoundFileError, DecodeError)


def decoder_errors() -> tuple[type[BaseException], ...]:
    """What the decoders raise for a file they cannot read (PyAV's errors once it is loaded) —
    only theirs: a ValueError, TypeError or RuntimeError from moodmap's own code or settings
    between decoder and samples (downmix, resampling) is a bug to report, not an undecodable file."""
    av = sys.modules.get("av")
    return _DECODER_ERRORS + ((av.FFmpegError,) if av is not None else ())


def _collect(source: tuple[int, Iterator[np.ndarray]], sample_rate: int | None, quality: str) -> _Decoded:
    """Concatenate mono blocks, resampling them through one soxr stream on the way."""
    native_rate, blocks = source
    frames = 0

    def counted() -> Iterator[np.ndarray]:
        nonlocal frames
        for block in blocks:
            frames += block.shape[0]
            yield block

    pieces = list(_resampled(native_rate, counted(), sample_rate, quality))
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return _Decoded(samples, native_rate, frames)


def _resampled(native_rate: int, blocks: Iterator[np.ndarray], sample_rate: int | None,
               quality: str) -> Iterator[np.ndarray]:
    """The blocks at ``sample_rate``, through one soxr stream (so block edges leave no trace)."""
    if native_rate <= 0:  # a damaged header; the decoder's refusal, not a resampler error
        raise DecodeError(None, f"the stream gives no sample rate ({native_rate})")
    resampler = None
    if sample_rate is not None and sample_rate != native_rate:
        resampler = soxr.ResampleStream(native_rate, sample_rate, 1, dtype="float32", quality=quality)
    for block in blocks:
        yield resampler.resample_chunk(block) if resampler else block.copy()
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)


def normalised_blocks(path: str | os.PathLike, sample_rate: int = 16000, quality: str = "HQ",
                      limit: float | None = None) -> Iterator[np.ndarray]:
    """The whole file as mono float32 blocks at ``sample_rate``, peak-normalised as one — the
    samples ``load_audio`` gives, in memory bounded by a block instead of the file's length.

    The file is decoded twice: once for its peak, once for the blocks. Raises the same
    typed errors as ``load_audio`` before the first block, and TooLongError as soon as more
    than ``limit`` seconds are decoded, whatever the header said (a budget is checked
    against what is really there).
    """
    path = check_file(path)
    most = None if limit is None else int(limit * sample_rate)

    def measure(name: str) -> tuple[int, bool, float]:
        count, finite, peak = 0, True, 0.0
        for block in _resampled(*BLOCK_READERS[name](path, 0.0, None), sample_rate, quality):
            count += block.size
            if most is not None and count > most:
                raise _past(path, limit)
            finite = finite and bool(np.isfinite(block).all())
            peak = max(peak, float(np.max(np.abs(block)))) if block.size and finite else peak
        return count, finite, peak

    name, (count, finite, peak) = _with_a_decoder(path, measure)
    scale = np.float32(1.0 / check_samples(path, count, finite, peak))
    try:
        for block in _resampled(*BLOCK_READERS[name](path, 0.0, None), sample_rate, quality):
            count -= block.size
            if most is not None and count < 0:  # the file grew between the two passes
                raise _past(path, limit)
            block *= scale
            yield block
    except decoder_errors() as exc:  # the file changed between the two passes
        raise DecodeError(path, f"decoding failed on the second pass: {_one_line(exc)}") from None


def _past(path: Path, limit: float | None) -> TooLongError:
    return TooLongError(path, f"the audio runs past {limit:g} s, the most this timeline may decode (a larger hop "
                              "allows more)")


def _soundfile_blocks(path: Path, start: float, duration: float | None) -> tuple[int, Iterator[np.ndarray]]:
    handle = sf.SoundFile(str(path))
    rate = handle.samplerate

    def blocks() -> Iterator[np.ndarray]:
        with handle:
            first = int(round(start * rate))
            if first:
                handle.seek(min(first, max(handle.frames, 0)))
            remaining = None if duration is None else int(round(duration * rate))
            buffer = np.empty((BLOCK_FRAMES, handle.channels), dtype=np.float32)
            while remaining is None or remaining > 0:
                want = BLOCK_FRAMES if remaining is None else min(BLOCK_FRAMES, remaining)
                got = handle.read(want, dtype="float32", out=buffer[:want]).shape[0]
                if got == 0:
                    break
                if remaining is not None:
                    remaining -= got
                yield downmix(buffer[:got])

    return rate, blocks()


def _probe_pyav(path: Path, sf_reason: str, limit: float | None) -> AudioInfo:
    from . import pyav_reader  # PyAV loads only for the files soundfile refuses

    try:
        rate, channels, seconds = pyav_reader.stream_info(path)
    except pyav_reader.ERRORS as exc:
        raise DecodeError(path, f"not a decodable audio file (soundfile: {sf_reason}; "
                          f"pyav: {_one_line(exc)})") from exc
    if rate <= 0:
        raise DecodeError(path, "audio stream has no sample rate")
    if seconds is None:  # no duration in the container: decode to count, keeping nothing
        try:
            frames = pyav_reader.count_frames(path, None if limit is None else int(limit * rate) + 1)
        except pyav_reader.ERRORS as exc:
            raise DecodeError(path, f"not a decodable audio file (pyav: {_one_line(exc)})") from exc
        return AudioInfo(path, rate, channels, frames, "pyav")
    return AudioInfo(path, rate, channels, int(seconds * rate), "pyav")


def _pyav_blocks(path: Path, start: float, duration: float | None) -> tuple[int, Iterator[np.ndarray]]:
    from . import pyav_reader

    return pyav_reader.blocks(path, start, duration)


# libsndfile's words for a regular file whose format it does not recognise (a text file named .mp3)
SNDFILE_UNRECOGNISED = "File does not exist or is not a regular file (possibly a pipe?)."


def _one_line(exc: BaseException) -> str:
    """A decoder's reason in one line, without the path (the error names the file once, as the user
    named it: never a server's upload path) and without libsndfile's misleading "possibly a pipe"."""
    text = one_line(exc)
    text = re.sub(r"^Error opening '.*?': ", "", text)  # soundfile's prefix
    text = re.sub(r"^\[Errno -?\d+\] (.*?): '.*'$", r"\1", text)  # PyAV's errno and path
    text = text.replace(SNDFILE_UNRECOGNISED, "format not recognised")
    return text or type(exc).__name__


BLOCK_READERS = {"soundfile": _soundfile_blocks, "pyav": _pyav_blocks}
