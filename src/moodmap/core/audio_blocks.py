"""What both decoders share: the block size they decode in, and the downmix to mono.

A module of its own so that ``moodmap.core.audio`` (which chooses the decoder) and
``moodmap.core.pyav_reader`` (loaded only for files soundfile refuses) both import it, and
neither imports the other's module at the top.
"""
from __future__ import annotations

import numpy as np

BLOCK_FRAMES = 1 << 16  # decode block: big enough to amortise calls, small enough for cache


def downmix(frames_by_channel: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) block (fast: no strided reductions)."""
    channels = frames_by_channel.shape[1]
    mono = frames_by_channel[:, 0].copy()
    for c in range(1, channels):
        mono += frames_by_channel[:, c]
    if channels > 1:
        mono *= np.float32(1.0 / channels)
    return mono
