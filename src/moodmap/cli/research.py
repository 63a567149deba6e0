"""Commands for researchers: synthetic data, feature caches, training, the paper's sweep and report, export."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..core.config import FeatureConfig, load_toml, with_overrides, with_run_overrides
from ..core.engines import Engine
from ..core.errors import MoodmapError
from .common import AddressOption, EngineOption, console, fails_cleanly, output_file, progress_bar, stderr, write_json

commands = typer.Typer()  # merged into the moodmap app by cli/__init__.py

def _feature_config(config: Optional[Path], overrides: list[str], excerpts: Optional[int]) -> FeatureConfig:
    base = load_toml(FeatureConfig, config, "features") if config else FeatureConfig()
    if excerpts is not None:
        overrides = [*overrides, f"excerpts={excerpts}"]
    return with_overrides(base, overrides)


@commands.command()
@fails_cleanly
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the data set to (emoMusic layout).")],
    songs: Annotated[int, typer.Option(help="How many songs.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same songs.")] = 0,
    seconds: Annotated[float, typer.Option(help="Length of each clip.")] = 45.0,
    audio_format: Annotated[str, typer.Option("--audio-format", help="flac, mp3, ogg or wav.")] = "flac",
    renderer: Annotated[str, typer.Option(help="numpy (wavetable voices) or soundfont (sampled instruments "
                                               "through FluidSynth; `make soundfont` installs it).")] = "numpy",
    soundfont: Annotated[Optional[Path], typer.Option(help="A .sf2/.sf3 General MIDI soundfont "
                                                           "(default: Debian's).")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
) -> None:
    """Generate labelled synthetic music whose valence/arousal follow from its musical parameters."""
    from ..research.datasets.synth import FORMATS, RENDERERS, SynthSpec, write_synth_dataset

    if audio_format not in FORMATS:
        raise MoodmapError(None, f"--audio-format must be one of {', '.join(FORMATS)}")
    if renderer not in RENDERERS:
        raise MoodmapError(None, f"--renderer must be one of {', '.join(RENDERERS)}")
    spec = SynthSpec(songs=songs, seed=seed, seconds=seconds, audio_format=audio_format, renderer=renderer,
                     soundfont=str(soundfont) if soundfont else None)
    with progress_bar("synth") as update:
        write_synth_dataset(out, spec, jobs, update)
    console.print(f"wrote {songs} songs of {seconds:g} s to {out} ({renderer} renderer; emoMusic layout; "
                  "labels in annotations/)")


@commands.command()
@fails_cleanly
def prepare(
    dataset: Annotated[Path, typer.Argument(help="Data set folder, or a manifest CSV.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Cache folder.")],
    format: Annotated[str, typer.Option("--format", "-f",
                                        help="emomusic, deam, pmemo, manifest, folders or auto.")] = "auto",
    scale: Annotated[str, typer.Option(help="Rating scale of a manifest (1-9, 0-1, -1-1, …).")] = "0-1",
    excerpts: Annotated[Optional[int], typer.Option(help="Excerpts per song (paper: 1 original, 3 augmented).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="TOML file with a \\[features] table.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a feature setting: key=value.")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
) -> None:
    """Extract log-mel features of every song into a resumable, memory-mapped cache."""
    from ..research.cache import prepare_cache
    from ..research.datasets import load_dataset

    feature_config = _feature_config(config, set_ or [], excerpts)
    data = load_dataset(dataset, format, scale)
    for problem in data.problems:
        stderr.print(f"moodmap: skipped {problem.item}: {problem.reason}", markup=False, highlight=False)
    with progress_bar(f"prepare {data.name}") as update:
        summary = prepare_cache(data, out, feature_config, jobs, update, engine=Engine(engine, address))
    for failure in summary.failures:
        stderr.print(f"moodmap: failed {failure.path}: {failure.reason}", markup=False, highlight=False)
    if summary.interrupted:
        stderr.print(f"moodmap: interrupted; {summary.extracted} songs saved, rerun the same command to resume")
        raise typer.Exit(130)
    console.print(f"cache {summary.cache}: {summary.songs - len(summary.failures)} songs, {summary.excerpts} excerpts "
                  f"({summary.extracted} extracted now, {summary.reused} reused, {len(summary.failures)} failed, "
                  f"{len(data.problems)} skipped by the loader) in {summary.seconds:.1f} s")


def _recorded(record: dict) -> str:
    """Where the data set was when the cache was made, and whether it is still there."""
    root = record.get("root", "?")
    synth = record.get("synth") or {}
    made = f"{synth.get('songs')} songs, seed {synth.get('seed')}; " if synth else ""
    return f"{made}{root}" + ("" if Path(root).exists() else " (no longer there)")


@commands.command()
@fails_cleanly
def info(cache: Annotated[Path, typer.Argument(help="Cache folder written by `moodmap prepare`.")]) -> None:
    """Summarise a feature cache: songs, excerpts, labels, failures."""
    from ..research.cache import FeatureCache

    opened = FeatureCache.open(cache)
    table = Table(title=f"feature cache {opened.path}")
    table.add_column("what")
    table.add_column("value")
    cfg, held = opened.config, opened.summary()
    rows = [
        ("data set", opened.dataset_label),
        ("recorded", _recorded(opened.provenance)),
        ("songs", str(held["songs"])),
        ("excerpts", f"{held['excerpts']} ({cfg.excerpts} × {cfg.excerpt_seconds:g} s per song at most)"),
        ("feature shape", f"{opened.features.shape[1]} × {opened.features.shape[2]}"),
        ("config hash", opened.meta["config_hash"]),
        *((f"{dim} mean ± sd", "{:.3f} ± {:.3f}".format(*held[dim])) for dim in ("valence", "arousal")),
        ("official split", ", ".join(f"{k}: {v}" for k, v in held["official_split"].items()) or "none"),
        ("failures", str(held["failures"])),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _model_configs(config: Optional[str], overrides: list[str], epochs: Optional[int]):
    """A preset (paper, improved) or a TOML file ([model] and [train] tables), then --set overrides."""
    from ..core.config import ModelConfig, TrainConfig
    from ..research.presets import preset

    if config is None or not config.endswith(".toml"):  # a preset's name; an unknown one lists the known
        chosen = preset(config or "paper")
        model, train = chosen.model, chosen.train
    else:
        model, train = load_toml(ModelConfig, config, "model"), load_toml(TrainConfig, config, "train")
    extra = [f"epochs={epochs}"] if epochs is not None else []
    return with_run_overrides(model, train, [*overrides, *extra])


METRIC_ROWS = (("MAE", "mae"), ("RMSE", "rmse"), ("Pearson r", "r"), ("R²", "r2"), ("CCC", "ccc"),
               ("prediction sd", "pred_sd"), ("target sd", "target_sd"))


def _evaluation_table(title: str, value: Callable[[str, str, str], str]) -> Table:
    """Model beside the constant-mean baseline, per dimension; ``value(predictor, dim, metric)``."""
    caption = (f"quadrant accuracy: model {value('model', '', 'quadrant_accuracy')}, "
               f"baseline {value('baseline', '', 'quadrant_accuracy')}")
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("metric")
    for dim in ("valence", "arousal"):
        table.add_column(f"{dim}\nmodel", justify="right")
        table.add_column(f"{dim}\nbaseline", justify="right", style="dim")
    for label, key in METRIC_ROWS:
        table.add_row(label, *(value(p, d, key) for d in ("valence", "arousal") for p in ("model", "baseline")))
    return table


def _print_summary(summary: dict) -> None:
    protocol = summary["protocol"]
    for level in ("excerpt", "song"):
        def value(predictor: str, dim: str, metric: str) -> str:
            key = f"evaluation.{level}.{predictor}." + (f"{dim}.{metric}" if dim else metric)
            mean, sd = summary["mean"].get(key, float("nan")), summary["sd"].get(key, float("nan"))
            return "–" if mean != mean else f"{mean:.3f}±{sd:.3f}"
        title = (f"{level} level, mean ± sd over {protocol['runs']} runs — {protocol['dataset']}, "
                 f"{protocol['split']} split ({protocol['validation_fraction']:.0%} validation)"
                 + (", a song's excerpts averaged" if level == "song" else ""))
        console.print(_evaluation_table(title, value))
    mean, sd = summary["mean"], summary["sd"]
    console.print(f"paper metric — validation MAE after the last epoch (excerpt level, both dimensions): "
                  f"{mean['last_val_mae']:.3f} ± {sd['last_val_mae']:.3f}; constant baseline "
                  f"{mean['evaluation.excerpt.baseline.mean_mae']:.3f} ± "
                  f"{sd['evaluation.excerpt.baseline.mean_mae']:.3f}")


def _print_evaluation(report: dict) -> None:
    for level, evaluation in report["evaluation"].items():
        def value(predictor: str, dim: str, metric: str) -> str:
            scores = evaluation[predictor]
            number = scores[dim][metric] if dim else scores[metric]
            return "–" if number != number else f"{number:.3f}"
        title = (f"{level} level — {report['dataset']}, {report['rows']} rows ({report['n_rows']} excerpts, "
                 f"split: {report['split']})" + (", a song's excerpts averaged" if level == "song" else ""))
        console.print(_evaluation_table(title, value))


@commands.command()
@fails_cleanly
def train(
    cache: Annotated[Path, typer.Argument(help="Feature cache from `moodmap prepare`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for checkpoints, metrics and the summary.")],
    config: Annotated[Optional[str], typer.Option(help="A preset — paper (the paper's final model) or improved "
                                                       "(MoodNet) — or a TOML file.")] = "paper",
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a model/train setting: key=value.")]
    = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs per run (paper: 10).")] = None,
    runs: Annotated[int, typer.Option(help="Independent runs, each with a fresh init and split (paper: 10).")] = 10,
    split: Annotated[Optional[str], typer.Option(help="grouped (default), random (excerpts at random: leaks; our "
                                                      "reading of the paper's) or official.")] = None,
    jobs: Annotated[int, typer.Option(help="Runs trained in parallel, one core each.")] = 1,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the summary here.")] = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
) -> None:
    """Train the paper's CNN with its protocol; print every metric beside the constant baseline."""
    output_file(json_out)
    overrides = list(set_ or []) + ([f"split={split}"] if split else [])
    model_config, train_config = _model_configs(config, overrides, epochs)  # checked before torch loads
    from ..research.train import train_runs

    with progress_bar("train runs") as update:
        summary = train_runs(cache, model_config, train_config, runs, out, jobs, update, Engine(engine, address))
    _print_summary(summary)
    if summary.get("missing_runs"):
        stderr.print(f"moodmap: runs {', '.join(map(str, summary['missing_runs']))} lost their worker every time "
                     "they were tried and are not in this summary; rerun the same command to try them again",
                     markup=False, highlight=False)
    write_json(json_out, summary)
    console.print(f"checkpoints, per-epoch metrics and summary.json in {out}")


@commands.command()
@fails_cleanly
def evaluate(
    model: Annotated[str, typer.Argument(help="A checkpoint (.pt) written by `moodmap train`, or a registered "
                                              "model's name.")],
    cache: Annotated[Path, typer.Argument(help="Feature cache to score it on.")],
    rows: Annotated[str, typer.Option(help="validation (the model's own held-out songs), test (official) or all.")]
    = "validation",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the report here.")] = None,
) -> None:
    """Score a trained model: MAE, RMSE, r, R², CCC, spread and quadrant accuracy, beside the baseline."""
    from ..research.train import evaluate_checkpoint

    output_file(json_out)
    if rows not in ("validation", "test", "all"):
        raise MoodmapError(None, "--rows must be validation, test or all")
    report = evaluate_checkpoint(model, cache, rows)
    _print_evaluation(report)
    write_json(json_out, report)


@commands.command()
@fails_cleanly
def sweep(
    which: Annotated[str, typer.Argument(help="The sweep to run: `paper` (Tables 1–7).")],
    cache: Annotated[Path, typer.Argument(help="Feature cache (3 excerpts per song) from `moodmap prepare`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for results.sqlite (resumable).")],
    runs: Annotated[int, typer.Option(help="Runs per setting (paper: 10).")] = 10,
    epochs: Annotated[int, typer.Option(help="Epochs per run (paper: 10).")] = 10,
    split: Annotated[str, typer.Option(help="grouped (default) or random (excerpts at random: leaks; our reading "
                                            "of the paper's).")] = "grouped",
    jobs: Annotated[Optional[int], typer.Option(help="Parallel runs, one core each (default: all cores).")] = None,
    only: Annotated[Optional[list[str]], typer.Option(help="Run only these experiments (e.g. optimizer).")] = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
) -> None:
    """Run the paper's seven experiments (33 table cells × runs), resumably, in parallel."""
    from ..research.experiments import select
    from ..research.sweep import run_sweep

    if which != "paper":
        raise MoodmapError(None, f"unknown sweep {which!r}; only `paper` exists")
    select(only)  # an unknown experiment is one error before any work
    with progress_bar(f"sweep paper ({split} split)") as update:
        report = run_sweep(cache, out, runs, epochs, split, jobs, update, only=only,
                           engine=Engine(engine, address))
    console.print(f"{report.planned} trainings planned, {report.already_done} already done, "
                  f"{report.finished_now} finished now; estimated {report.estimated_seconds / 60:.1f} min, "
                  f"took {report.actual_seconds / 60:.1f} min; results in {out / 'results.sqlite'}")
    if report.crashed:
        stderr.print(f"moodmap: {report.crashed} runs lost their worker every time they were tried; "
                     "rerun the same command to try them again")
    if report.interrupted:
        stderr.print("moodmap: interrupted; finished runs are saved, rerun the same command to resume")
        raise typer.Exit(130)


@commands.command()
@fails_cleanly
def report(folder: Annotated[Path, typer.Argument(help="Sweep folder holding results.sqlite.")]) -> None:
    """Write the paper's tables and figures from a sweep (complete or partial), beside the paper's numbers."""
    from ..research.report import write_report

    out = write_report(folder)
    console.print(f"report in {out}: report.md, report.html and {len(list(out.glob('*.png')))} figures")


@commands.command()
@fails_cleanly
def export(
    run_dir: Annotated[Path, typer.Argument(help="A `moodmap train` output folder.")],
    name: Annotated[str, typer.Option(help="Name to register the model under.")],
    to: Annotated[Optional[Path], typer.Option(help="Weights folder (default: your models, $MOODMAP_MODELS or "
                                                    "~/.local/share/moodmap/models).")] = None,
) -> None:
    """Turn a training run into a named, checksummed model with a MODEL_CARD."""
    from ..inference.registry import valid_name

    valid_name(name)  # refused at once, before the training side (torch) is loaded
    from ..research.models.card import export_run

    path = export_run(run_dir, name, to)
    console.print(f"model {name!r}: {path} (card: {path.with_suffix('.md')})")


@commands.command()
@fails_cleanly
def download(
    name: Annotated[str, typer.Argument(help="deam, emomusic or pmemo.")],
    to: Annotated[Path, typer.Option(help="Folder to download and unpack into.")],
) -> None:
    """Fetch a data set's public archives (resumable; size checked, sha256 where published) and unpack them."""
    from ..research.download import download_dataset

    with progress_bar(f"download {name}") as update:
        root = download_dataset(name, to, progress=lambda _file, done, total: update(done, total or done),
                                report=lambda line: console.print(line, markup=False, highlight=False))
    console.print(f"{name} is in {root}; next: moodmap prepare {root} --out CACHE")
