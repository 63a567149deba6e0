"""Label-consistent tempo augmentation: stretch a synthetic song's log-mel in time, shift its arousal.

On music from ``moodmap synth`` the effect of a tempo change on the label is known: the
generator's arousal is 0.30 × tempo + … with tempo = (bpm − 60) / 120 on 0–1, and the label on
0–1 is (1 + 8 × score) / 10. Playing a song r times as fast (pitch kept) makes its bpm r × bpm,
so its arousal label moves by 0.8 × 0.30 × (tempo(r × bpm) − tempo(bpm)), each tempo clipped
to 0–1 as the generator's is; note density is per beat, so it does not change.

The stretch is done on the log-mel itself (a mel-domain time stretch: frames are read at
positions ``start + t × r`` with linear interpolation, so every band keeps its pitch). It
replaces the random crop: the output has the crop's length and comes from a random start.
Rows whose bpm is unknown (real data sets) are only cropped, and their labels never move.
Everything draws from the caller's ``torch.Generator``; the inputs are never modified.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch

from .datasets.score import AROUSAL_WEIGHTS, BPM_BASE, BPM_SPAN, RATING_SPAN

LABEL_PER_SCORE = RATING_SPAN / 10  # a 0–1 score becomes the rating 1 + 8 × score, the label rating / 10


def unit_tempo(bpm: np.ndarray | torch.Tensor):
    """The generator's tempo parameter (0–1, clipped) of a bpm."""
    value = (bpm - BPM_BASE) / BPM_SPAN
    return value.clip(0.0, 1.0)


def arousal_shift(bpm, rate):
    """How much the 0–1 arousal label of a song at ``bpm`` moves when it is played ``rate`` times as fast."""
    return LABEL_PER_SCORE * AROUSAL_WEIGHTS["tempo"] * (unit_tempo(bpm * rate) - unit_tempo(bpm))


def song_bpm(cache) -> np.ndarray:
    """Per cache row, the song's bpm from the data set's ``synth_params.csv`` (NaN where unknown:
    a real data set, or a synthetic one whose folder has moved)."""
    from .datasets.table import clean_id

    bpm = np.full(len(cache), np.nan, dtype=np.float32)
    root = cache.provenance.get("root")
    params = Path(root) / "synth_params.csv" if root else None
    if params is None or not params.is_file():
        return bpm
    with open(params, newline="", encoding="utf-8") as handle:
        by_song = {clean_id(row["song_id"]): float(row["bpm"]) for row in csv.DictReader(handle) if row.get("bpm")}
    for i, song in enumerate(cache.song_ids):
        bpm[i] = by_song.get(str(song), np.nan)
    return bpm


def draw_rates(bpm: torch.Tensor, max_rate: float, limit: float, generator: torch.Generator) -> torch.Tensor:
    """Per item a rate drawn log-uniformly from [1/max_rate, max_rate] (at most ``limit``, the
    fastest rate whose stretched window still fits in the excerpt); 1 where the bpm is unknown."""
    high = min(math.log(max_rate), math.log(max(limit, 1.0)))
    low = -math.log(max_rate)
    u = torch.rand(len(bpm), generator=generator)
    rates = torch.exp(low + u * (high - low))
    return torch.where(torch.isnan(bpm), torch.ones_like(rates), rates)


def stretch(x: torch.Tensor, rates: torch.Tensor, frames: int, generator: torch.Generator) -> torch.Tensor:
    """(batch, bands, T) → (batch, bands, frames): item i read at ``rates[i]`` frames per output
    frame from a random start (linear interpolation; rate 1 is a plain random crop)."""
    total = x.shape[-1]
    span = (frames - 1) * rates  # input frames covered
    room = (total - 1 - span).clamp(min=0.0)
    starts = torch.rand(len(x), generator=generator) * room
    if frames < total:  # a rate-1 item starts on a whole frame, as random_crop's do
        starts = torch.where(rates == 1.0, starts.floor(), starts)
    position = (starts[:, None] + torch.arange(frames, dtype=torch.float32)[None, :] * rates[:, None])
    position = position.clamp(0.0, total - 1.0)
    left = position.floor().long()
    right = (left + 1).clamp(max=total - 1)
    weight = (position - left.to(position.dtype))[:, None, :]
    gather = lambda index: torch.gather(x, 2, index[:, None, :].expand(-1, x.shape[1], -1))  # noqa: E731
    return gather(left) * (1.0 - weight) + gather(right) * weight


def tempo_augmenter(bpm_rows: np.ndarray, max_rate: float, frames: int, total: int, arousal_scale: float):
    """The batch transform ``(x, y, rows, generator) → (x, y)``: stretch each item by a random rate
    and move its (possibly standardised, hence ``arousal_scale``) arousal target to match."""
    bpm_all = torch.from_numpy(np.asarray(bpm_rows, dtype=np.float32))
    limit = (total - 1) / max(frames - 1, 1)

    def transform(x: torch.Tensor, y: torch.Tensor, rows: torch.Tensor, generator: torch.Generator):
        bpm = bpm_all.index_select(0, rows)
        rates = draw_rates(bpm, max_rate, limit, generator)
        shift = torch.nan_to_num(arousal_shift(bpm, rates), nan=0.0) / arousal_scale
        y = y.clone()
        y[:, 1] += shift
        return stretch(x, rates, frames, generator), y
    return transform
