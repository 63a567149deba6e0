"""The paper's tables and figures, regenerated from a sweep's results, beside the published numbers.

``write_report(DIR)`` reads ``DIR/results.sqlite`` (complete or not) and writes into
``DIR/report/``: ``report.md`` (Tables 1–7 and the final model in the paper's layout:
our mean ± sd, the paper's value, the difference, and the constant-mean baseline),
PNG figures (Fig. 1 data set scatter with marginals, Fig. 3 a 15 s mel spectrogram,
Figs. 6–11 bar + error-bar per experiment with the paper's values overlaid, and a
predicted-vs-true scatter that shows the shrinkage) and ``report.html`` showing all
of it, images embedded.
"""
from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_write_text
from ..core.config import TrainConfig
from ..core.errors import MoodmapError
from .experiments import (
    FINAL_MODEL,
    FINAL_PAPER_MAE,
    FINAL_PAPER_SD,
    PAPER_EXPERIMENTS,
    Experiment,
    Setting,
    configs_for,
    setting_key,
)
from .sweep import ResultsStore

TITLE = "# Music Mood Classification using CNNs (TU Berlin, 2019) — reproduced by moodmap"


@dataclass
class Cell:
    """One table cell: our runs of a setting, and the paper's number."""

    experiment: Experiment
    setting: Setting
    maes: list[float]
    baselines: list[float]
    ccc: list[tuple[float, float]]
    key: str = ""  # the setting key: cells with one key share their runs

    @property
    def n(self) -> int:
        return len(self.maes)

    def mean(self) -> float:
        return float(np.mean(self.maes)) if self.maes else float("nan")

    def sd(self) -> float:
        return float(np.std(self.maes)) if self.maes else float("nan")


def collect(rows: list[dict], feature_hash: str, runs_meta: dict) -> list[Cell]:
    """Table cells from stored runs (matching the sweep's epochs and split)."""
    by_setting: dict[str, list[dict]] = {}
    for row in rows:
        by_setting.setdefault(row["setting"], []).append(row)
    base = TrainConfig(epochs=runs_meta.get("epochs", 10), split=runs_meta.get("split", "grouped"))
    cells = []
    for experiment in PAPER_EXPERIMENTS:
        for setting in experiment.settings:
            model, train = configs_for(experiment, setting, base)
            key = setting_key(model, train, feature_hash)
            found = by_setting.get(key, [])
            results = [json.loads(r["result"]) for r in found]
            cells.append(Cell(experiment, setting, [r["last_val_mae"] for r in found],
                              [r["evaluation"]["excerpt"]["baseline"]["mean_mae"] for r in results],
                              [(r["evaluation"]["song"]["model"]["valence"]["ccc"],
                                r["evaluation"]["song"]["model"]["arousal"]["ccc"]) for r in results], key))
    return cells


def write_report(folder: str | Path) -> Path:
    """Render tables, figures and an HTML page from ``folder/results.sqlite``; returns the report folder.

    Each protocol found in the store (split mode × epochs) gets its own tables and
    figures, so a grouped and a random sweep of the same data are reported side by side.
    """
    folder = Path(folder)
    if not (folder / "results.sqlite").exists():
        raise MoodmapError(folder, "no results.sqlite here; run `moodmap sweep paper` first")
    store = ResultsStore(folder / "results.sqlite")
    try:
        rows, meta = store.rows(), store.meta().get("sweep", {})
    finally:
        store.close()
    out = folder / "report"
    out.mkdir(exist_ok=True)
    from . import figures as fig

    figures: dict[str, Path] = {}
    cache = _open_cache(meta.get("cache"))
    if cache is not None:
        figures["Figure 1 — the data set's mean valence and arousal"] = fig.dataset_scatter(cache, out / "fig1.png")
        figures["Figure 3 — a 15 s mel spectrogram"] = fig.spectrogram(cache, out / "fig3.png")
    sections = []
    for split, epochs in protocols(rows) or [(meta.get("split", "grouped"), meta.get("epochs", 10))]:
        protocol = {**meta, "split": split, "epochs": epochs}
        chosen = [r for r in rows if (r["split"], r["epochs"]) == (split, epochs)]
        feature_hash = chosen[0]["feature_hash"] if chosen else ""
        cells = collect(chosen, feature_hash, protocol)
        suffix = "" if split == "grouped" else f"-{split}"
        for experiment in PAPER_EXPERIMENTS:
            if experiment.figure:
                name = f"Figure {experiment.figure} — {experiment.title} (Table {experiment.table}, {split} split)"
                figures[name] = fig.experiment_bars(experiment, [c for c in cells if c.experiment is experiment],
                                                    out / f"fig{experiment.figure}{suffix}.png")
        base_rows = [r for r in chosen if r["setting"] == _base_key(feature_hash, protocol)]
        predictions = [json.loads(r["predictions"]) for r in base_rows if r["predictions"]]
        if predictions:
            figures[f"Predicted vs true — the final model's shrinkage ({split} split)"] = fig.shrinkage(
                predictions, out / f"shrinkage{suffix}.png")
        sections.append(render_markdown(cells, protocol, len(chosen)))
    markdown = "\n".join([TITLE, ""] + sections)
    atomic_write_text(out / "report.md", markdown)
    atomic_write_text(out / "report.html", render_html(markdown, figures))
    return out


def protocols(rows: list[dict]) -> list[tuple[str, int]]:
    """The (split, epochs) combinations present, grouped split first."""
    return sorted({(r["split"], r["epochs"]) for r in rows}, key=lambda p: (p[0] != "grouped", p))


def _base_key(feature_hash: str, meta: dict) -> str:
    base = TrainConfig(epochs=meta.get("epochs", 10), split=meta.get("split", "grouped"), excerpts=3)
    return setting_key(FINAL_MODEL, base, feature_hash)


def _open_cache(path: str | None):
    from ..core.errors import CacheError
    from .cache import FeatureCache

    if not path:
        return None
    try:
        return FeatureCache.open(path)
    except CacheError:
        return None


def _fmt(mean: float, sd: float, n: int) -> str:
    """Mean ± sd over runs; one run has no spread to show, so it says n = 1."""
    if mean != mean:
        return "–"
    return f"{mean:.3f} (n = 1)" if n == 1 else f"{mean:.3f} ± {sd:.3f}"


def render_markdown(cells: list[Cell], meta: dict, n_rows: int) -> str:
    """Tables 1–7 and the final model in the paper's layout, ours beside the paper's."""
    split = meta.get("split", "grouped")
    straddle = ("excerpts of one song never straddle it" if split == "grouped" else
                "excerpts drawn at random, so excerpts of one song can leak across it — our reading of the paper’s "
                "split, which it does not spell out")
    lines = [
        f"## {split.capitalize()} split, {meta.get('epochs', '?')} epochs", "",
        f"Data set: **{meta.get('dataset', '?')}**; split: **{split}** "
        f"({straddle}); "
        f"{meta.get('epochs', '?')} epochs per run; {n_rows} runs stored for this protocol.",
        "Metric: validation MAE after the last epoch, excerpt level, both dimensions, 0–1 scale (the paper's). "
        "Baseline: the training set's mean predicted for every excerpt, on the same validation excerpts.", "",
    ]
    for experiment in PAPER_EXPERIMENTS:
        row_cells = [c for c in cells if c.experiment is experiment]
        lines += [f"### Table {experiment.table} — {experiment.title}", "",
                  "| " + " | ".join([experiment.parameter] + [c.setting.label for c in row_cells]) + " |",
                  "|---" + "|---:" * len(row_cells) + "|"]
        lines.append("| moodmap MAE | " + " | ".join(_fmt(c.mean(), c.sd(), c.n) for c in row_cells) + " |")
        lines.append("| paper MAE | " + " | ".join(f"{c.setting.paper_mae:.3f} ± {c.setting.paper_sd:.3f}"
                                                  for c in row_cells) + " |")
        lines.append("| difference | " + " | ".join("–" if not c.n else f"{c.mean() - c.setting.paper_mae:+.3f}"
                                                    for c in row_cells) + " |")
        lines.append("| baseline MAE | " + " | ".join(_fmt(float(np.mean(c.baselines)), float(np.std(c.baselines)), c.n)
                                                      if c.n else "–" for c in row_cells) + " |")
        lines.append("| song CCC (V / A) | " + " | ".join(
            f"{np.mean([v for v, _ in c.ccc]):.2f} / {np.mean([a for _, a in c.ccc]):.2f}" if c.n else "–"
            for c in row_cells) + " |")
        lines.append("| runs | " + " | ".join(str(c.n) for c in row_cells) + " |")
        lines.append("")
    final = next((c for c in cells if c.experiment.table == 2 and c.setting.label == "3×3"), None)
    if final is not None:
        baseline = _fmt(float(np.mean(final.baselines)), float(np.std(final.baselines)), final.n) if final.n else "–"
        lines += ["### Final model (§3.8: 16 filters, 3×3 kernel, 3×3 pool, relu/relu/sigmoid, dropout 0.2, Adam)", "",
                  "| | moodmap | paper |", "|---|---:|---:|",
                  f"| validation MAE | {_fmt(final.mean(), final.sd(), final.n)} | {FINAL_PAPER_MAE:.3f} ± "
                  f"{FINAL_PAPER_SD:.2f} |",
                  f"| constant baseline | {baseline}"
                  " | not reported (a constant mean scores about 0.104–0.109 on emoMusic) |", ""]
    return "\n".join(lines + _reading_notes(cells)) + "\n"


def _reading_notes(cells: list[Cell]) -> list[str]:
    """What these tables can and cannot show beside the paper's (said in the report, not only the README)."""
    final = next((c for c in cells if c.experiment.table == 2 and c.setting.label == "3×3"), None)
    shared = [c for c in cells if final is not None and c.key == final.key]
    paper = [c.setting.paper_mae for c in shared]
    table1 = min((c for c in cells if c.experiment.table == 1), key=lambda c: c.setting.paper_mae, default=None)
    lines = ["### Reading these tables", ""]
    if table1 is not None:
        lines.append(f"- Table 1 (one excerpt per clip) is won in the paper by {table1.setting.label} "
                     f"({table1.setting.paper_mae:.3f}), not by the final model's 3×3; Tables 2–7 are won by the "
                     "final model's values, which is why the base model here is the final model.")
    if len(shared) > 1:
        lines.append(f"- The {len(shared)} cells equal to the final model ("
                     + ", ".join(f"Table {c.experiment.table} {c.setting.label}" for c in shared)
                     + ") share one set of runs here, so they show one number. The paper reports "
                     f"{min(paper):.3f}–{max(paper):.3f} for them: its tables were separate runs (or its base "
                     "differed), and that table-to-table spread cannot be shown by shared runs.")
    lines.append("- An ordering of two cells whose difference is within a run-to-run sd is noise in either study.")
    return lines + [""] + _orderings(cells)


def _orderings(cells: list[Cell]) -> list[str]:
    """Per table: the paper's order of its settings (best first) beside ours, and whether the
    best setting agrees — every ordering that agrees with the paper and every one that does not."""
    lines = ["### Orderings, best first", "", "| table | paper | moodmap | same best |", "|---|---|---|---|"]
    for experiment in PAPER_EXPERIMENTS:
        row = [c for c in cells if c.experiment is experiment]
        if not row or any(not c.n for c in row):
            continue
        paper = [c.setting.label for c in sorted(row, key=lambda c: c.setting.paper_mae)]
        ours = [c.setting.label for c in sorted(row, key=lambda c: c.mean())]
        lines.append(f"| {experiment.table} ({experiment.parameter}) | {' < '.join(paper)} | {' < '.join(ours)} | "
                     f"{'yes' if paper[0] == ours[0] else 'no'} |")
    return lines + [""]


def render_html(markdown: str, figures: dict[str, Path]) -> str:
    """One self-contained page: the tables (as preformatted markdown) and every figure inline."""
    parts = ["<!doctype html><meta charset='utf-8'><title>moodmap — paper reproduction</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
             "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}</style>"]
    parts.append(_markdown_to_html(markdown))
    for title, path in figures.items():
        data = base64.b64encode(Path(path).read_bytes()).decode()
        parts.append(f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
                     f"src='data:image/png;base64,{data}'>")
    return "\n".join(parts)


def _markdown_to_html(markdown: str) -> str:
    """The small subset of markdown the report uses: headings, paragraphs, pipe tables, bold."""
    out, table = [], []

    def flush() -> None:
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= set("-:")]
            head, *body = rows
            cells = lambda r, tag: "".join(f"<{tag}>{html.escape(c.strip())}</{tag}>"  # noqa: E731
                                           for c in r.strip().strip("|").split("|"))
            out.append("<table><tr>" + cells(head, "th") + "</tr>" + "".join(f"<tr>{cells(r, 'td')}</tr>" for r in body)
                       + "</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            text = html.escape(line)
            while text.count("**") >= 2:
                text = text.replace("**", "<b>", 1).replace("**", "</b>", 1)
            out.append(f"<p>{text}</p>")
    flush()
    return "\n".join(out)
