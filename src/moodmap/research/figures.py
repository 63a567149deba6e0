"""The report's figures (matplotlib, written as PNG): the paper's Figs. 1, 3 and 6–11, plus shrinkage.

The library side's pictures (the mood map, a track's timeline) are ``moodmap.library.plane_png``: Pillow only.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .metrics import song_means  # noqa: E402

DPI = 110


def _save(figure, path: Path, tight: bool = True) -> Path:
    if tight:
        figure.tight_layout()
    figure.savefig(path, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(figure)
    return path


def dataset_scatter(cache, path: Path) -> Path:
    """Fig. 1: each song's mean (valence, arousal), with marginal histograms, equal axes."""
    _, points = song_means(cache.targets.astype(np.float64), cache.song_ids)
    figure = plt.figure(figsize=(6, 6))
    grid = figure.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.05, hspace=0.05)
    main = figure.add_subplot(grid[1, 0])
    top = figure.add_subplot(grid[0, 0], sharex=main)
    side = figure.add_subplot(grid[1, 1], sharey=main)
    main.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6)
    main.axhline(0.5, color="grey", lw=0.6)
    main.axvline(0.5, color="grey", lw=0.6)
    main.set(xlim=(0, 1), ylim=(0, 1), xlabel="valence (0–1)", ylabel="arousal (0–1)", aspect="equal")
    bins = np.linspace(0, 1, 41)
    top.hist(points[:, 0], bins=bins)
    side.hist(points[:, 1], bins=bins, orientation="horizontal")
    top.tick_params(labelbottom=False)
    side.tick_params(labelleft=False)
    top.set_title(f"{len(points)} songs: mean valence / arousal")
    return _save(figure, path, tight=False)


def spectrogram(cache, path: Path, row: int = 0) -> Path:
    """Fig. 3: one 15 s log-mel excerpt, with time and frequency axes."""
    import librosa.display

    config = cache.config
    figure, axis = plt.subplots(figsize=(9, 3.5))
    image = librosa.display.specshow(np.asarray(cache.features[row]), sr=config.sample_rate,
                                     hop_length=config.hop_length, x_axis="time", y_axis="mel", ax=axis,
                                     fmax=config.fmax or config.sample_rate / 2)
    figure.colorbar(image, ax=axis, format="%+.0f dB")
    axis.set_title(f"song {cache.song_ids[row]}, excerpt {cache.excerpt[row]}: "
                   f"{config.n_mels} mel bands, {config.excerpt_seconds:g} s")
    return _save(figure, path)


def experiment_bars(experiment, cells, path: Path) -> Path:
    """Figs. 6–11: our mean ± sd per setting as bars, the paper's value and sd overlaid."""
    labels = [c.setting.label for c in cells]
    x = np.arange(len(cells))
    figure, axis = plt.subplots(figsize=(max(5, 1.2 * len(cells)), 3.8))
    ours = [c.mean() for c in cells]
    axis.bar(x, ours, yerr=[c.sd() for c in cells], capsize=4, color="#4c78a8", label="moodmap (mean ± sd)")
    axis.errorbar(x, [c.setting.paper_mae for c in cells], yerr=[c.setting.paper_sd for c in cells], fmt="D",
                  color="#e45756", capsize=4, label="paper")
    baselines = [np.mean(c.baselines) if c.n else np.nan for c in cells]
    axis.plot(x, baselines, "_", markersize=30, color="black", label="constant baseline")
    axis.set_xticks(x, labels, rotation=20 if max(map(len, labels)) > 8 else 0)
    axis.set(ylabel="validation MAE", title=f"Table {experiment.table}: {experiment.title}")
    axis.legend(fontsize=8)
    return _save(figure, path)


def shrinkage(predictions: list[dict], path: Path) -> Path:
    """Predicted vs true per dimension for the final model's runs: the spread collapses toward 0.5."""
    pred = np.concatenate([np.asarray(p["pred"]) for p in predictions])
    true = np.concatenate([np.asarray(p["true"]) for p in predictions])
    figure, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    for i, (axis, name) in enumerate(zip(axes, ("valence", "arousal"))):
        axis.scatter(true[:, i], pred[:, i], s=5, alpha=0.4)
        axis.plot([0, 1], [0, 1], color="grey", lw=0.8)
        axis.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel=f"true {name}", ylabel=f"predicted {name}",
                 title=f"{name}: sd predicted {pred[:, i].std():.3f} vs true {true[:, i].std():.3f}")
    return _save(figure, path)
