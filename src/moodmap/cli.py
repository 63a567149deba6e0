"""The ``moodmap`` command: each subcommand parses, calls one library function, renders.

Errors moodmap raises on purpose print as one line (``moodmap: FILE: reason``) with
exit code 2; Ctrl-C exits 130 after saying how to resume.
"""
from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .config import FeatureConfig, load_toml, with_overrides
from .errors import MoodmapError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Valence and arousal of music: reproduce the 2019 TU Berlin mood CNN, tag and map a library.")
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _fails_cleanly(command: Callable) -> Callable:
    """Turn moodmap's own errors into one line and exit code 2."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except MoodmapError as exc:
            errors.print(f"moodmap: {exc}", markup=False, highlight=False)
            raise typer.Exit(2) from None
    return wrapper


@contextlib.contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar driven by ``update(done, total)`` callbacks."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("•"),
               TimeElapsedColumn(), TextColumn("• ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _feature_config(config: Optional[Path], overrides: list[str], excerpts: Optional[int]) -> FeatureConfig:
    base = load_toml(FeatureConfig, config, "features") if config else FeatureConfig()
    if excerpts is not None:
        overrides = [*overrides, f"excerpts={excerpts}"]
    return with_overrides(base, overrides)


@app.command()
@_fails_cleanly
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the data set to (emoMusic layout).")],
    songs: Annotated[int, typer.Option(help="How many songs.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same songs.")] = 0,
    seconds: Annotated[float, typer.Option(help="Length of each clip.")] = 45.0,
    audio_format: Annotated[str, typer.Option("--audio-format", help="flac, mp3, ogg or wav.")] = "flac",
    jobs: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
) -> None:
    """Generate labelled synthetic music whose valence/arousal follow from its musical parameters."""
    from .datasets.synth import FORMATS, SynthSpec, write_synth_dataset

    if audio_format not in FORMATS:
        raise MoodmapError(None, f"--audio-format must be one of {', '.join(FORMATS)}")
    spec = SynthSpec(songs=songs, seed=seed, seconds=seconds, audio_format=audio_format)
    with _progress("synth") as update:
        write_synth_dataset(out, spec, jobs, update)
    console.print(f"wrote {songs} songs of {seconds:g} s to {out} (emoMusic layout; labels in annotations/)")


@app.command()
@_fails_cleanly
def prepare(
    dataset: Annotated[Path, typer.Argument(help="Data set folder, or a manifest CSV.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Cache folder.")],
    format: Annotated[str, typer.Option("--format", "-f",
                                        help="emomusic, deam, pmemo, manifest, folders or auto.")] = "auto",
    scale: Annotated[str, typer.Option(help="Rating scale of a manifest (1-9, 0-1, -1-1, …).")] = "0-1",
    excerpts: Annotated[Optional[int], typer.Option(help="Excerpts per song (paper: 1 original, 3 augmented).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="TOML file with a [features] table.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a feature setting: key=value.")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
) -> None:
    """Extract log-mel features of every song into a resumable, memory-mapped cache."""
    from .cache import prepare_cache
    from .datasets import load_dataset

    feature_config = _feature_config(config, set_ or [], excerpts)
    data = load_dataset(dataset, format, scale)
    for problem in data.problems:
        errors.print(f"moodmap: skipped {problem.item}: {problem.reason}", markup=False, highlight=False)
    with _progress(f"prepare {data.name}") as update:
        summary = prepare_cache(data, out, feature_config, jobs, update)
    for failure in summary.failures:
        errors.print(f"moodmap: failed {failure.path}: {failure.reason}", markup=False, highlight=False)
    if summary.interrupted:
        errors.print(f"moodmap: interrupted; {summary.extracted} songs saved, rerun the same command to resume")
        raise typer.Exit(130)
    console.print(f"cache {summary.cache}: {summary.songs - len(summary.failures)} songs, {summary.excerpts} excerpts "
                  f"({summary.extracted} extracted now, {summary.reused} reused, {len(summary.failures)} failed, "
                  f"{len(data.problems)} skipped by the loader) in {summary.seconds:.1f} s")


@app.command()
@_fails_cleanly
def info(cache: Annotated[Path, typer.Argument(help="Cache folder written by `moodmap prepare`.")]) -> None:
    """Summarise a feature cache: songs, excerpts, labels, failures."""
    from .cache import FeatureCache

    opened = FeatureCache.open(cache)
    table = Table(title=f"feature cache {opened.path}")
    table.add_column("what")
    table.add_column("value", justify="right")
    meta, cfg = opened.meta, opened.config
    songs = opened.n_songs
    per_song = opened.targets[np.unique(opened.song_ids, return_index=True)[1]]
    rows = [
        ("data set", f"{meta['dataset']['name']} ({meta['dataset']['root']})"),
        ("songs", str(songs)),
        ("excerpts", f"{len(opened)} ({cfg.excerpts} × {cfg.excerpt_seconds:g} s per song at most)"),
        ("feature shape", f"{opened.features.shape[1]} × {opened.features.shape[2]}"),
        ("config hash", meta["config_hash"]),
        ("valence mean ± sd", f"{per_song[:, 0].mean():.3f} ± {per_song[:, 0].std():.3f}"),
        ("arousal mean ± sd", f"{per_song[:, 1].mean():.3f} ± {per_song[:, 1].std():.3f}"),
        ("official split", ", ".join(f"{k}: {v}" for k, v in _split_counts(opened).items()) or "none"),
        ("failures", str(len(opened.failures))),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _split_counts(opened) -> dict[str, int]:
    first = np.unique(opened.song_ids, return_index=True)[1]
    names, counts = np.unique(opened.split[first], return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts) if n}


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
