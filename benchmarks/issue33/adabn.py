"""Issue 33 helper: BatchNorm statistics re-estimated on unlabelled real music (AdaBN).

A model trained on synthetic music normalises every layer with the synthetic music's statistics.
Real recordings sit elsewhere (other spectra, other levels), so their activations arrive
off-centre and squeezed, and predictions huddle in the middle. AdaBN (Li et al. 2016) replaces the
running statistics with those of the target domain; no weight and no label is involved.

The adaptation audio comes from Debian packages that neither the real-music check
(benchmarks/real_music.py) nor the speed benchmarks use. Windows are cut exactly as
``predict_file`` cuts them (centred excerpt windows, peak-normalised, log-mel).

  python benchmarks/issue33/adabn.py features OUT.npz [--per-package 40]
  python benchmarks/issue33/adabn.py adapt MODEL REAL.npz NAME FOLDER [--synth CACHE] [--share 0.5]

``--synth CACHE --share S``: statistics over a mixture, a share S of real windows and the rest
synthetic ones from CACHE (whole excerpts, as training's own recalibration sees them).
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np
import torch

ADAPT_PACKAGES = ("drascula-music", "hedgewars-data", "lincity-ng-data", "extremetuxracer-data", "freedroidrpg-data")
AUDIO = (".ogg", ".mp3", ".flac", ".opus", ".wav")
MIN_SECONDS = 30.0


def package_audio(package: str) -> list[Path]:
    listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout.split("\n")
    return sorted(Path(p) for p in listing
                  if p.lower().endswith(AUDIO) and ("music" in p.lower() or package == "drascula-music"))


def features(out: Path, per_package: int, seed: int) -> None:
    from moodmap.core.audio import load_excerpts, probe
    from moodmap.core.features import logmel
    from moodmap.inference.predict import tagging_config
    from moodmap.inference.registry import resolve

    config = tagging_config(resolve("improved").predictor.feature_config)
    rows, names = [], []
    for package in ADAPT_PACKAGES:
        files = []
        for path in package_audio(package):
            try:
                if probe(path).duration >= MIN_SECONDS:
                    files.append(path)
            except Exception as exc:  # noqa: BLE001 — a file moodmap cannot read is left out
                print(f"skip {path}: {exc}")
        rng = np.random.default_rng([seed, sum(map(ord, package))])
        chosen = [files[i] for i in sorted(rng.permutation(len(files))[:per_package])]
        print(f"{package}: {len(chosen)} of {len(files)} tracks ≥ {MIN_SECONDS:.0f} s", flush=True)
        for path in chosen:
            windows = load_excerpts(path, config)[0]
            rows.append(logmel(windows, config).astype(np.float32))
            names += [f"{package}/{path.name}"] * len(windows)
    np.savez_compressed(out, features=np.concatenate(rows), names=np.array(names))
    print(f"{out}: {sum(len(r) for r in rows)} windows")


def adapt(model: str, real: Path, name: str, folder: Path, synth: str | None, share: float, seed: int) -> None:
    from moodmap.research.cache import FeatureCache
    from moodmap.research.models.card import register
    from moodmap.research.models.checkpoint import load_model, save_checkpoint
    from moodmap.research.train import recalibrate_batchnorm

    checkpoint = load_model(model)
    x = np.load(real)["features"]
    if synth:
        cache = FeatureCache.open(synth)
        if cache.config != checkpoint.feature_config:
            raise SystemExit(f"{synth}: feature config differs from the model's")
        n_synth = int(round(len(x) * (1 - share) / share))
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(cache), size=min(n_synth, len(cache)), replace=False))
        x = np.concatenate([x, cache.features[pick]])
        print(f"mixture: {len(x) - len(pick)} real + {len(pick)} synthetic windows")
    order = np.random.default_rng(seed + 1).permutation(len(x))  # mixed batches
    recalibrate_batchnorm(checkpoint.model, torch.from_numpy(np.ascontiguousarray(x[order])))
    checkpoint.meta = {**checkpoint.meta, "adabn": {"real": str(real), "synth": synth, "share": share,
                                                    "packages": list(ADAPT_PACKAGES)}}
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f"{name}.staged.pt"
    save_checkpoint(staged, checkpoint)
    print(register(staged, name, f"{model} with AdaBN", f"# {name}\n", folder,
                   {"name": "emomusic", "synthetic": True}))
    staged.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("features")
    f.add_argument("out", type=Path)
    f.add_argument("--per-package", type=int, default=40)
    f.add_argument("--seed", type=int, default=0)
    a = sub.add_parser("adapt")
    a.add_argument("model")
    a.add_argument("real", type=Path)
    a.add_argument("name")
    a.add_argument("folder", type=Path)
    a.add_argument("--synth")
    a.add_argument("--share", type=float, default=1.0)
    a.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.command == "features":
        features(args.out, args.per_package, args.seed)
    else:
        adapt(args.model, args.real, args.name, args.folder, args.synth, args.share, args.seed)


if __name__ == "__main__":
    main()
