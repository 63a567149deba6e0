"""Issue 33 helper: would averaging several training runs of one recipe hold the real-music relations better?

    python benchmarks/issue33/ensemble.py real build/a.json[,build/b.json] wide,shipmel [--sizes 1,2,4]
    python benchmarks/issue33/ensemble.py synthetic CACHE RUNS_DIR[,RUNS_DIR] [--sizes 1,2,4]
    python benchmarks/issue33/ensemble.py cost [--tracks 12] [--repeats 3]

A recipe's runs differ more on the real-music check than its recipes do (one-tonic.md: major vs minor
54–81 % over eight runs of one recipe). If much of that is run noise, the mean of k runs' predictions —
an ensemble of k members — keeps the relation each run shares and drops the rest. For each recipe
(its runs are the models PREFIX-r0, PREFIX-r1, … in the check's JSONs) and each k, every k-subset of
its runs is averaged song by song (the mean of the members' song values: what one network averaging
its members' held excerpt predictions gives) and scored like a model; the table shows the mean share
right over the subsets and the lowest–highest subset, and the real recordings' prediction sd.
``synthetic`` does the same for song-level MAE on a prepared set none of the runs trained on (every
row of CACHE: a fresh ``moodmap synth`` set), beside the constant-mean baseline (the members' mean
training mean), for each ``moodmap train`` folder's runs. ``cost`` measures what k members would add
to tagging a file: the network's share of ``predict_file``'s time on the speed benchmarks' real OGG
tracks (``benchmarks/music.py``), with the shipped ``improved``, measured in one process.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import metamorphic as mm  # noqa: E402


def merged(files: list[str]) -> tuple[list[str], dict]:
    """Models and {"audio"/"midi": {piece: {variant: {model: [v, a]}}}} of several check JSONs."""
    models, per_track = [], {"audio": {}, "midi": {}}
    for f in files:
        result = json.loads(Path(f).read_text())
        models += [m for m in result["models"] if m not in models]
        for kind in per_track:
            for piece, variants in result["per_track"][kind].items():
                for variant, values in variants.items():
                    per_track[kind].setdefault(piece, {}).setdefault(variant, {}).update(values)
    return models, per_track


def averaged(measured: dict, members: tuple[str, ...], name: str) -> dict:
    """``measured`` with one more model, ``name``: the song-by-song mean of ``members``."""
    out = {}
    for piece, variants in measured.items():
        out[piece] = {}
        for variant, values in variants.items():
            if all(values.get(m) is not None for m in members):
                values = {**values, name: np.mean([values[m] for m in members], axis=0).tolist()}
            out[piece][variant] = values
    return out


def scored(per_track: dict, members: tuple[str, ...]) -> dict[str, float]:
    """Share right of every relation, and the real recordings' valence/arousal sd, of the members' mean."""
    row = {}
    for kind, relations in (("audio", mm.AUDIO_RELATIONS), ("midi", mm.MIDI_RELATIONS)):
        measured = averaged(per_track[kind], members, "ensemble")
        for relation in relations:
            deltas = mm.deltas(measured, relation, "ensemble")
            if len(deltas):
                row[("MIDI: " if kind == "midi" else "") + relation.name] = float(
                    (np.sign(deltas) == relation.expected).mean())
        if kind == "audio":
            real = np.array([per["original"]["ensemble"] for per in measured.values()])
            row["real sd V"], row["real sd A"] = mm.spread(real[:, 0]), mm.spread(real[:, 1])
    return row


def table(columns: dict[str, list[dict[str, float]]]) -> None:
    """Markdown: a row per measure, a column per recipe and size (mean over subsets, lowest–highest)."""
    rows: dict[str, dict[str, str]] = {}
    for column, subsets in columns.items():
        for key in subsets[0]:
            values = [s[key] for s in subsets]
            fmt = (lambda x: f"{x:.3f}") if ("sd" in key or "mae" in key) else (lambda x: f"{x:.0%}")  # else a share
            rows.setdefault(key, {})[column] = (f"{fmt(np.mean(values))} ({fmt(min(values))}–{fmt(max(values))})"
                                                if len(values) > 1 else fmt(values[0]))
    print("| measure | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for key, cells in rows.items():
        print(f"| {key} | " + " | ".join(cells.get(c, "—") for c in columns) + " |")


def real(args) -> None:
    models, per_track = merged(args.files.split(","))
    columns = {}
    for recipe in args.recipes.split(","):
        runs = tuple(m for m in models if m.rsplit("-r", 1)[0] == recipe)
        for k in args.sizes:
            if k <= len(runs):
                subsets = list(itertools.combinations(runs, k))
                columns[f"{recipe} k={k} ({len(subsets)})"] = [scored(per_track, c) for c in subsets]
    table(columns)


def synthetic(args) -> None:
    from moodmap.research.cache import FeatureCache
    from moodmap.research.metrics import evaluate_levels
    from moodmap.research.models.checkpoint import load_checkpoint
    from moodmap.research.models.torch_predict import predict_features

    cache = FeatureCache.open(args.cache)
    features = np.array(cache.features)  # a writable copy: torch warns about the read-only memory map
    columns = {}
    for folder in (Path(f) for f in args.runs.split(",")):
        summary = json.loads((folder / "summary.json").read_text())
        members = []
        for run in summary["runs"]:
            checkpoint = load_checkpoint(folder / f"run-{run['run']}" / "last.pt")
            members.append((predict_features(checkpoint.model, features, offset=checkpoint.target_offset,
                                             scale=checkpoint.target_scale), np.array(checkpoint.train_mean)))
        for k in args.sizes:
            if k <= len(members):
                rows = []
                for subset in itertools.combinations(members, k):
                    pred, mean = np.mean([p for p, _ in subset], axis=0), np.mean([m for _, m in subset], axis=0)
                    song = evaluate_levels(pred, cache.targets, cache.song_ids, mean)["song"].as_dict()
                    rows.append({f"{dim} {part} {what}": song[part][dim][what] for dim in ("valence", "arousal")
                                 for part, what in (("model", "mae"), ("baseline", "mae"), ("model", "pred_sd"))})
                columns[f"{folder.name} k={k} ({len(rows)})"] = rows
    print(f"{args.cache}: {len(set(cache.song_ids))} songs, every row; MAE song level")
    table(columns)


def cost(args) -> None:
    import time

    from music import install_music

    from moodmap.core.features import excerpt_logmel
    from moodmap.inference.predict import predict_file, tagging_config
    from moodmap.inference.registry import resolve

    predictor = resolve("improved").predictor
    tracks = install_music()[:args.tracks]
    predict_file(tracks[0], predictor)  # warm: imports, onnxruntime session
    for repeat in range(args.repeats):
        whole = network = 0.0
        for track in tracks:
            started = time.perf_counter()
            predict_file(track, predictor)
            whole += time.perf_counter() - started
            features, _ = excerpt_logmel(track, tagging_config(predictor.feature_config))
            started = time.perf_counter()
            predictor.predict(features)
            network += time.perf_counter() - started
        share = network / whole
        print(f"repeat {repeat + 1}: {len(tracks)} tracks, predict_file {whole:.2f} s, network {network:.3f} s "
              f"({share:.1%}); k members: " + ", ".join(f"k={k} ×{1 + (k - 1) * share:.3f}" for k in args.sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sizes = {"type": lambda s: [int(k) for k in s.split(",")], "default": [1, 2, 4], "help": "ensemble sizes k"}
    sub = parser.add_subparsers(dest="command", required=True)
    on_real = sub.add_parser("real", help="the real-music check's relations and spread")
    on_real.add_argument("files", help="the check's --json files, comma-separated")
    on_real.add_argument("recipes", help="run prefixes, comma-separated")
    on_real.add_argument("--sizes", **sizes)
    on_synth = sub.add_parser("synthetic", help="song-level MAE on a fresh prepared synthetic set")
    on_synth.add_argument("cache", help="a prepared feature cache no run trained on")
    on_synth.add_argument("runs", help="moodmap train folders, comma-separated")
    on_synth.add_argument("--sizes", **sizes)
    on_cost = sub.add_parser("cost", help="the network's share of tagging a file: what k members add")
    on_cost.add_argument("--tracks", type=int, default=12)
    on_cost.add_argument("--repeats", type=int, default=3)
    on_cost.add_argument("--sizes", **sizes)
    args = parser.parse_args()
    {"real": real, "synthetic": synthetic, "cost": cost}[args.command](args)


if __name__ == "__main__":
    main()
