"""``moodmap compare``: models on identical grouped splits, every metric beside the baseline, paired tests."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..core.engines import Engine
from .common import AddressOption, EngineOption, console, fails_cleanly, output_file, progress_bar, write_json

commands = typer.Typer()  # merged into the moodmap app by cli/__init__.py

COLUMNS = (("MAE", "mae"), ("RMSE", "rmse"), ("r", "r"), ("R²", "r2"), ("CCC", "ccc"), ("sd ratio", "sd_ratio"))


def _cell(stats: dict) -> str:
    mean, sd = stats["mean"], stats["sd"]
    return "–" if mean != mean else f"{mean:.3f}±{sd:.3f}"


def _dimension_table(report: dict, dimension: str, level: str) -> Table:
    protocol = report["protocol"]
    unit = "folds" if protocol["mode"] == "folds" else "runs"
    table = Table(title=f"{dimension}, {level} level — {protocol['dataset']}, grouped split, mean ± sd over "
                        f"{protocol['n']} {unit} (sd ratio = prediction sd / target sd)", title_justify="left")
    table.add_column("model")
    for label, _ in COLUMNS:
        table.add_column(label, justify="right")
    for name, summary in report["predictors"].items():
        table.add_row(name, *(_cell(summary[level][dimension][key]) for _, key in COLUMNS),
                      style="dim" if name == "baseline" else None)
    return table


def _overall_table(report: dict) -> Table:
    table = Table(title="both dimensions", title_justify="left")
    for label in ("model", "quadrant accuracy (song)", "MAE (song)", "MAE (excerpt, the paper's metric)"):
        table.add_column(label, justify="left" if label == "model" else "right")
    for name, summary in report["predictors"].items():
        table.add_row(name, _cell(summary["song"]["quadrant_accuracy"]), _cell(summary["song"]["mean_mae"]),
                      _cell(summary["excerpt"]["mean_mae"]), style="dim" if name == "baseline" else None)
    return table


def _test_lines(report: dict, level: str = "song") -> list[str]:
    lines = []
    for t in report["tests"]:
        if t["level"] != level:
            continue
        verdict = "significant" if t["significant"] else "not significant"
        lines.append(f"{t['model']} vs {t['against']}, {t['dimension']} {t['metric'].upper()}: "
                     f"{t['difference']:+.3f}, p = {t['p_value']:.4f} ({verdict} at {report['protocol']['alpha']}; "
                     f"n = {t['n']}, smallest possible p {t['smallest_possible_p']:.4f})")
    return lines


@commands.command()
@fails_cleanly
def compare(
    cache: Annotated[Path, typer.Argument(help="Feature cache from `moodmap prepare`.")],
    models: Annotated[str, typer.Option(help="Comma-separated presets; the first is the reference.")]
    = "paper,improved",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the runs (resumable) and compare.json.")]
    = Path("compare"),
    runs: Annotated[int, typer.Option(help="Runs per model, each on a fresh grouped split shared by all models.")] = 5,
    folds: Annotated[Optional[int], typer.Option(help="Grouped k-fold cross-validation instead of --runs.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs for every model (default: each preset's own).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the splits (and of each run's initialisation).")] = 0,
    jobs: Annotated[int, typer.Option(help="Trainings in parallel, one core each.")] = 1,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write every figure here.")] = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
) -> None:
    """Train models on identical grouped splits; every metric per dimension, the baseline, Wilcoxon tests."""
    from ..research.compare import Protocol, compare_models

    output_file(json_out)
    protocol = Protocol(runs=runs, folds=folds, seed=seed, epochs=epochs)
    names = [n.strip() for n in models.split(",") if n.strip()]
    with progress_bar("compare: trainings") as update:
        report = compare_models(cache, names, out, protocol, jobs, update, Engine(engine, address))
    for dimension in ("valence", "arousal"):
        console.print(_dimension_table(report, dimension, "song"))
    console.print(_overall_table(report))
    console.print("paired tests (song level):")
    for line in _test_lines(report):
        console.print("  " + line, highlight=False)
    write_json(json_out, report)
    console.print(f"every figure, per level, dimension and run: {out / 'compare.json'}")
