"""Training-time augmentation of log-mel batches: random time crops and SpecAugment-style masks.

The improved model trains on a different crop of each excerpt every epoch and with a
few mel bands and frames hidden, so it learns mood from the whole clip rather than
from one fixed 15 s picture. Everything draws from the caller's ``torch.Generator``,
so a run is reproducible. The input batch is never modified.
"""
from __future__ import annotations

import torch

MAX_MASKED_BANDS = 8
MAX_MASKED_FRACTION = 0.1  # of the frames


def random_crop(x: torch.Tensor, frames: int, generator: torch.Generator) -> torch.Tensor:
    """(batch, bands, T) → (batch, bands, frames), each item from its own random start."""
    total = x.shape[-1]
    if frames >= total:
        return x
    starts = torch.randint(0, total - frames + 1, (len(x),), generator=generator)
    index = starts[:, None] + torch.arange(frames)
    return torch.gather(x, 2, index[:, None, :].expand(-1, x.shape[1], -1))


def spec_augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Hide one band of up to 8 mel bins and one span of up to 10 % of the frames per item
    (filled with the item's mean level, so the mask adds no artificial silence)."""
    batch, bands, frames = x.shape
    band_width = torch.randint(0, MAX_MASKED_BANDS + 1, (batch,), generator=generator)
    band_start = (torch.rand(batch, generator=generator) * (bands - band_width + 1)).long()
    span = torch.randint(0, int(MAX_MASKED_FRACTION * frames) + 1, (batch,), generator=generator)
    span_start = (torch.rand(batch, generator=generator) * (frames - span + 1)).long()
    band = torch.arange(bands)[None, :]
    frame = torch.arange(frames)[None, :]
    band_mask = (band >= band_start[:, None]) & (band < (band_start + band_width)[:, None])
    frame_mask = (frame >= span_start[:, None]) & (frame < (span_start + span)[:, None])
    mask = band_mask[:, :, None] | frame_mask[:, None, :]
    return torch.where(mask, x.mean(dim=(1, 2), keepdim=True), x)


def augmenter(crop_frames: int | None, masks: bool):
    """The batch transform a training config asks for, or None when it asks for none."""
    if not crop_frames and not masks:
        return None

    def transform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if crop_frames:
            x = random_crop(x, crop_frames, generator)
        return spec_augment(x, generator) if masks else x
    return transform
