"""Training speed: one paper-protocol run, moodmap vs a plain reference loop.

Data: a feature cache of emoMusic size (744 songs × 3 excerpts of 80 × 469, labels
drawn at random: speed does not depend on content), written once to a temp dir.
One run = 10 epochs over the ~2 000 training excerpts of a 10 % grouped split,
batch 32, Adam, then validation.

Reference: the same model written straightforwardly — nn.Sequential(conv → relu →
maxpool → flatten → dense → relu → batchnorm → dropout → dense → sigmoid), a batch
read from the memory-mapped cache and converted every step, default allocator.
moodmap: `moodmap.research.train.train_run`. Each runs in a fresh process (the allocator
setting is per process), at 1 thread (what a sweep worker gets) and at 2 threads.

Run: .venv/bin/python benchmarks/train.py [--songs 744] [--no-record]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from results import publish

HERE = Path(__file__).parent


def make_cache(folder: Path, songs: int) -> Path:
    """A consolidated cache with random log-mel-like features (no audio needed)."""
    from moodmap.core.config import FeatureConfig, config_dict, config_hash

    config = FeatureConfig()
    out = folder / config_hash(config)
    out.mkdir(parents=True)
    rows = songs * 3
    rng = np.random.default_rng(0)
    features = np.lib.format.open_memmap(out / "features.1.npy", "w+", np.float32, (rows, 80, 469))
    for start in range(0, rows, 256):
        block = features[start:start + 256]
        block[:] = rng.uniform(-80, 0, block.shape).astype(np.float32)
    features.flush()
    labels = rng.uniform(0.2, 0.8, (songs, 2))
    lines = ["row,song_id,excerpt,start,valence,arousal,valence_sd,arousal_sd,split,group,path,key"]
    for r in range(rows):
        s = r // 3
        lines.append(f"{r},{s},{r % 3},{15.0 * (r % 3)},{labels[s, 0]:.4f},{labels[s, 1]:.4f},,,,{s},x.mp3,k{s}")
    (out / "index.1.csv").write_text("\n".join(lines) + "\n")
    meta = {"version": 1, "config_hash": config_hash(config), "feature_config": config_dict(config),
            "dataset": {"name": "random", "root": ""}, "generation": 1, "features": "features.1.npy",
            "index": "index.1.csv", "rows": rows, "songs": songs}
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def run_reference(cache: str, threads: int, epochs: int) -> float:
    """The plain loop; returns seconds for one run."""
    import torch
    from torch import nn

    from moodmap.research.cache import FeatureCache
    from moodmap.core.config import TrainConfig
    from moodmap.research.train import make_split

    torch.set_num_threads(threads)
    data = FeatureCache.open(cache)
    split = make_split(data, TrainConfig(), 0)
    torch.manual_seed(0)
    began = time.perf_counter()
    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(3), nn.Flatten(), nn.Linear(16 * 26 * 155, 8),
                          nn.ReLU(), nn.BatchNorm1d(8, eps=1e-3, momentum=0.01), nn.Dropout(0.2), nn.Linear(8, 2),
                          nn.Sigmoid())
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, eps=1e-7)
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        model.train()
        order = rng.permutation(split.train)
        for start in range(0, len(order), 32):
            index = np.sort(order[start:start + 32])
            if len(index) < 2:
                continue
            x = torch.tensor(data.features[index]).unsqueeze(1)
            y = torch.tensor(data.targets[index])
            optimizer.zero_grad()
            loss = nn.functional.l1_loss(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for start in range(0, len(split.validation), 32):
                index = split.validation[start:start + 32]
                model(torch.tensor(data.features[index]).unsqueeze(1))
    return time.perf_counter() - began


def run_moodmap(cache: str, threads: int, epochs: int) -> float:
    from moodmap.core.config import ModelConfig, TrainConfig
    from moodmap.research.train import RunTask, train_run

    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        train_run(RunTask(cache, ModelConfig(), TrainConfig(epochs=epochs), 0, out, threads))
        return time.perf_counter() - began


def measure(role: str, cache: Path, threads: int, epochs: int) -> float:
    """Time one run in a fresh process."""
    done = subprocess.run([sys.executable, __file__, "--role", role, "--cache", str(cache), "--threads", str(threads),
                           "--epochs", str(epochs)], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=744)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--role", choices=["reference", "moodmap"])
    parser.add_argument("--cache")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if args.role:
        run = run_reference if args.role == "reference" else run_moodmap
        print(run(args.cache, args.threads, args.epochs))
        return
    with tempfile.TemporaryDirectory() as folder:
        cache = make_cache(Path(folder), args.songs)
        rows = []
        for threads in (1, 2):
            reference = measure("reference", cache, threads, args.epochs)
            ours = measure("moodmap", cache, threads, args.epochs)
            rows.append((threads, reference, ours))
    train_rows = int(round(args.songs * 0.9)) * 3
    lines = [f"## train.py — {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}", "",
             f"One paper-protocol run: {args.epochs} epochs, ~{train_rows} training excerpts of 80 × 469 "
             f"({args.songs} songs × 3, 10 % grouped validation), batch 32, Adam; each in a fresh process.", "",
             "| threads | plain loop (s) | moodmap (s) | speed-up |", "|---:|---:|---:|---:|"]
    lines += [f"| {t} | {r:.1f} | {o:.1f} | **{r / o:.1f}×** |" for t, r, o in rows]
    report = "\n".join(lines) + "\n"
    publish(report, record=not args.no_record)


if __name__ == "__main__":
    main()
