"""Issue 33 helper: the shipped recipe trained beside unlabelled real music (mixed batches, consistency).

Each step the labelled synthetic batch is joined by unlabelled excerpts of real game music from
packages the real-music check never sees (``adabn.py features``). Two random 10 s crops of each
real excerpt go through the network in the same forward pass as the synthetic batch, so every
BatchNorm layer normalises with statistics of both domains (and the statistics re-estimated after
each epoch come from the same mixture). With ``--weight W > 0`` the prediction on one crop (no
gradient) is the target for the other crop with SpecAugment masks: a consistency loss, W times
the mean squared difference in z-scored units. Only mood-preserving changes are used (another
crop of the same 15 s excerpt, masks); no gain, filter or tempo change, which would move mood.

  python benchmarks/issue33/consistency.py train CACHE REAL.npz OUT --run R [--weight 1] [--real-batch 16]
  python benchmarks/issue33/consistency.py summarise CACHE OUT --runs N [--weight 1] [--real-batch 16]

Runs are separate processes (one per core): start ``train`` once per run, then ``summarise`` writes
the summary.json that ``export_each.py`` reads.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from moodmap.core.atomic import atomic_write_text
from moodmap.research import train as training
from moodmap.research.augment import random_crop, spec_augment
from moodmap.research.cache import FeatureCache
from moodmap.research.presets import preset


class WithReal(torch.nn.Module):
    """The model with ``real_batch`` real excerpts (two crops each) joined to every training batch.

    Returns only the labelled items' predictions, so the training loop and its loss are unchanged;
    ``consistency()`` is the squared gap between the masked crop and the other crop (no gradient)."""

    def __init__(self, model, real: torch.Tensor, real_batch: int, crop: int, generator: torch.Generator):
        super().__init__()
        self.model, self.real, self.real_batch, self.crop, self.generator = model, real, real_batch, crop, generator
        self.last = None

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.model(batch)
        pick = torch.randint(0, len(self.real), (self.real_batch,), generator=self.generator)
        excerpts = self.real.index_select(0, pick)
        weak = random_crop(excerpts, self.crop, self.generator)
        strong = spec_augment(random_crop(excerpts, self.crop, self.generator), self.generator)
        out = self.model(torch.cat([batch, weak, strong]))
        self.last = out[len(batch):]
        return out[:len(batch)]

    def consistency(self) -> torch.Tensor:
        weak, strong = self.last[:self.real_batch], self.last[self.real_batch:]
        return torch.mean((strong - weak.detach()) ** 2)


def real_epoch(real: torch.Tensor, real_batch: int, weight: float, crop: int):
    """An ``_epoch`` replacement: the shipped loop over the model ``WithReal``, its loss plus
    ``weight`` × the consistency term."""
    original = training._epoch

    def epoch(model, optimizer, loss_fn, x, y, batch_size, generator, augment=None, tempo=None) -> float:
        joined = WithReal(model, real, real_batch, crop, generator)
        loss = (lambda p, t: loss_fn(p, t) + weight * joined.consistency()) if weight > 0 else loss_fn
        return original(joined, optimizer, loss, x, y, batch_size, generator, augment, tempo)
    return epoch


def mixed_recalibration(real: torch.Tensor, share: float, seed: int):
    """A ``recalibrate_batchnorm`` replacement: statistics over synthetic and real excerpts mixed
    in the share the training batches had."""
    original = training.recalibrate_batchnorm

    def recalibrate(model, x, batch_size=256):
        n_real = min(len(real), int(round(len(x) * share / (1 - share))))
        rng = np.random.default_rng(seed)
        pick = torch.from_numpy(np.sort(rng.choice(len(real), size=n_real, replace=n_real > len(real))))
        both = torch.cat([x, real.index_select(0, pick)])
        order = torch.from_numpy(rng.permutation(len(both)))
        original(model, both.index_select(0, order), batch_size)
    return recalibrate


def configs(weight: float, real_batch: int):
    """The shipped recipe unchanged (the real excerpts are added by the patched loop)."""
    chosen = preset("improved")
    return chosen.model, chosen.train


def train(cache: str, real_path: Path, out: Path, run: int, weight: float, real_batch: int) -> None:
    model_config, train_config = configs(weight, real_batch)
    real = torch.from_numpy(np.load(real_path)["features"].astype(np.float32))
    if real.shape[1:] != FeatureCache.open(cache).features.shape[1:]:
        raise SystemExit(f"{real_path}: excerpt shape {tuple(real.shape[1:])} differs from the cache's")
    share = 2 * real_batch / (train_config.batch_size + 2 * real_batch)
    training._epoch = real_epoch(real, real_batch, weight, train_config.crop_frames)
    training.recalibrate_batchnorm = mixed_recalibration(real, share, run)
    task = training.RunTask(str(FeatureCache.open(cache).path), model_config, train_config, run,
                            str(out / f"run-{run}"), threads=1)
    result = training.train_run(task)
    print(json.dumps({k: result[k] for k in ("run", "best_val_mae", "last_val_mae", "seconds")}))


def summarise(cache_path: str, out: Path, runs: int, weight: float, real_batch: int) -> None:
    cache = FeatureCache.open(cache_path)
    model_config, train_config = configs(weight, real_batch)
    results = [json.loads((out / f"run-{r}" / "result.json").read_text()) for r in range(runs)]
    summary = training.summarise(results, cache, model_config, train_config)
    summary["issue33_real"] = {"weight": weight, "real_batch": real_batch}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    print(json.dumps(summary.get("evaluation", summary), indent=1)[:1500])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("cache")
    t.add_argument("real", type=Path)
    t.add_argument("out", type=Path)
    t.add_argument("--run", type=int, required=True)
    s = sub.add_parser("summarise")
    s.add_argument("cache")
    s.add_argument("out", type=Path)
    s.add_argument("--runs", type=int, required=True)
    for p in (t, s):
        p.add_argument("--weight", type=float, default=1.0)
        p.add_argument("--real-batch", type=int, default=16)
    args = parser.parse_args()
    if args.command == "train":
        train(args.cache, args.real, args.out, args.run, args.weight, args.real_batch)
    else:
        summarise(args.cache, args.out, args.runs, args.weight, args.real_batch)


if __name__ == "__main__":
    main()
