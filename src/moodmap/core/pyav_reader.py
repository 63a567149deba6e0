"""PyAV (FFmpeg) as a block reader: m4a/aac/opus, Ogg (faster than libsndfile there) and
anything libsndfile refuses.

A module of its own so that PyAV (~60 ms to import) loads only when a file needs it: a
library of mp3 and FLAC never pays for it. ``moodmap.core.audio`` chooses the decoder;
``moodmap.core.audio_blocks`` holds what both decoders share.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from .audio_blocks import BLOCK_FRAMES, downmix
from .errors import DecodeError

ERRORS = (av.FFmpegError,)
INTEGER_SCALE = {"s16": 1 / 32768, "s16p": 1 / 32768, "s32": 1 / 2**31, "s32p": 1 / 2**31}


def stream_info(path: Path) -> tuple[int, int, float | None]:
    """Sample rate, channels and seconds (None when the container does not say) of the first audio stream."""
    with av.open(str(path)) as container:
        stream = audio_stream(container, path)
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        return rate, int(stream.codec_context.channels or 1), _stream_seconds(container, stream)


def count_frames(path: Path, most: int | None = None) -> int:
    """Frames of the first audio stream, counted by decoding it and keeping nothing;
    the count stops as soon as it passes ``most``."""
    frames = 0
    with av.open(str(path)) as container:
        stream = audio_stream(container, path)
        for frame in container.decode(stream):
            frames += frame.samples
            if most is not None and frames > most:
                break
    return frames


def blocks(path: Path, start: float, duration: float | None) -> tuple[int, Iterator[np.ndarray]]:
    """The native rate, and mono float32 blocks from ``start`` for ``duration`` s (None: to the end)."""
    container = av.open(str(path))
    try:
        stream = audio_stream(container, path)
    except DecodeError:
        container.close()
        raise
    rate = int(stream.codec_context.sample_rate or stream.rate)

    def read() -> Iterator[np.ndarray]:
        with container:
            if start > 0:
                container.seek(int(start * av.time_base), any_frame=False, backward=True)
            first = int(round(start * rate))
            remaining = None if duration is None else int(round(duration * rate))
            pending: list[np.ndarray] = []
            held = taken = position = 0  # frames in ``pending``; frames taken in all
            channels = None
            for frame in container.decode(stream):
                if frame.time is not None:
                    position = int(round(frame.time * rate))
                samples = frame_samples(frame)
                if channels not in (None, samples.shape[0]):  # damage, read as a new layout
                    raise DecodeError(path, "the channel count changes mid-stream")
                channels = samples.shape[0]
                skip = max(0, first - position)
                position += samples.shape[1]
                samples = samples[:, skip:] if remaining is None else samples[:, skip:skip + remaining - taken]
                if samples.shape[1]:
                    pending.append(samples)
                    held, taken = held + samples.shape[1], taken + samples.shape[1]
                if remaining is not None and taken >= remaining:
                    break
                if held >= BLOCK_FRAMES:  # a span streams too: 45 s at 192 kHz is never held whole
                    yield downmix(np.concatenate(pending, axis=1).T)
                    pending, held = [], 0
            if pending:
                yield downmix(np.concatenate(pending, axis=1).T)

    return rate, read()


def frame_samples(frame) -> np.ndarray:
    """A decoded frame as float32 (channels, n), whatever its sample format."""
    data = frame.to_ndarray()
    if not frame.format.is_planar:
        data = data.reshape(-1, len(frame.layout.channels)).T
    name = frame.format.name
    if name in ("flt", "fltp"):
        return data
    if name in ("dbl", "dblp"):
        return data.astype(np.float32)
    if name in ("u8", "u8p"):
        return (data.astype(np.float32) - 128.0) / 128.0
    return data.astype(np.float32) * np.float32(INTEGER_SCALE.get(name, 1 / 2**31))


def audio_stream(container, path: Path):
    """The first audio stream, decoded with FFmpeg's threads; DecodeError when there is none."""
    if not container.streams.audio:
        raise DecodeError(path, "no audio stream")
    stream = container.streams.audio[0]
    if stream.codec_context is None:  # a damaged header: FFmpeg found no codec to open
        raise DecodeError(path, "audio stream has no decoder")
    stream.thread_type = "AUTO"
    return stream


def _stream_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None
