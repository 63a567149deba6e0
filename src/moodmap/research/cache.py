"""Feature caches: build them in parallel and resumably, read them memory-mapped.

A cache for one feature config lives in ``CACHE/<config_hash>/``::

    meta.json            config, data set, row count, and which generation is current
    features.<g>.npy     float32 (rows, n_mels, frames): one row per excerpt, memory-mapped
    index.<g>.csv        per row: song id, excerpt, start, valence, arousal, sds, split, group, path
    failures.json        songs that could not be read, with the reason
    shards/<key>.npz     per-song results of a run not yet consolidated

Workers (local processes or Ray tasks) compute; this process writes one shard per song
atomically as each result arrives, so a Ctrl-C or kill -9 loses at most the songs in
flight; a rerun skips every song already in the cache or in a shard, then
consolidates into a new generation and switches ``meta.json`` to it atomically.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import provenance
from ..core.atomic import atomic_path, atomic_write_text, remove_stale_temps
from ..core.clock import timestamp
from ..core.config import FeatureConfig, config_dict, config_hash, from_dict
from ..core.engines import LOCAL, Engine, run_tasks
from ..core.errors import CacheError, Failure, crashed
from ..core.features import excerpt_logmel
from .datasets import Dataset, Song

INDEX_COLUMNS = ["row", "song_id", "excerpt", "start", "valence", "arousal", "valence_sd", "arousal_sd",
                 "split", "group", "path"]


@dataclass
class PrepareSummary:
    """What a ``prepare`` run did."""

    cache: Path
    songs: int
    excerpts: int
    extracted: int
    reused: int
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False


@dataclass
class FeatureCache:
    """A consolidated cache, memory-mapped: features are read from disk as they are used."""

    path: Path
    config: FeatureConfig
    meta: dict
    features: np.ndarray  # (rows, n_mels, frames) float32, read-only memmap
    song_ids: np.ndarray  # str per row
    excerpt: np.ndarray  # int per row
    start: np.ndarray  # float seconds per row
    targets: np.ndarray  # (rows, 2) float32: valence, arousal on 0–1
    target_sd: np.ndarray  # (rows, 2) float32, NaN where unknown
    split: np.ndarray  # str per row ("" when the data set has none)
    group: np.ndarray  # str per row
    audio_path: np.ndarray  # str per row

    def __len__(self) -> int:
        return len(self.song_ids)

    @property
    def n_songs(self) -> int:
        return len(np.unique(self.song_ids))

    @classmethod
    def open(cls, path: str | Path, config_hash_prefix: str | None = None) -> "FeatureCache":
        """Open ``path`` (a cache dir, or its parent holding one per config)."""
        folder = resolve_cache_dir(Path(path), config_hash_prefix)
        meta = _read_meta(folder)
        if meta is None or not meta.get("features"):
            raise CacheError(folder, "cache has no consolidated features yet; run `moodmap prepare` to finish it")
        config = from_dict(FeatureConfig, meta["feature_config"], str(folder / "meta.json"))
        features = np.load(folder / meta["features"], mmap_mode="r")
        index = _read_index(folder / meta["index"])
        if len(index) != features.shape[0]:
            raise CacheError(folder, f"index has {len(index)} rows but features {features.shape[0]}")
        column = {name: [row[name] for row in index] for name in INDEX_COLUMNS}
        return cls(
            path=folder, config=config, meta=meta, features=features,
            song_ids=np.array(column["song_id"], dtype=str),
            excerpt=np.array(column["excerpt"], dtype=np.int32),
            start=np.array(column["start"], dtype=np.float64),
            targets=np.array([column["valence"], column["arousal"]], dtype=np.float32).T.reshape(-1, 2),
            target_sd=np.array([_nan(column["valence_sd"]), _nan(column["arousal_sd"])],
                               dtype=np.float32).T.reshape(-1, 2),
            split=np.array(column["split"], dtype=str), group=np.array(column["group"], dtype=str),
            audio_path=np.array(column["path"], dtype=str),
        )

    @property
    def failures(self) -> list[Failure]:
        return read_failures(self.path)

    def summary(self) -> dict:
        """What the cache holds, per song: counts, label mean and sd per dimension, the official
        split's song counts, failures (what `moodmap info` shows)."""
        first = np.unique(self.song_ids, return_index=True)[1]
        per_song = self.targets[first]
        names, counts = np.unique(self.split[first], return_counts=True)
        return {"songs": len(first), "excerpts": len(self),
                "valence": (float(per_song[:, 0].mean()), float(per_song[:, 0].std())),
                "arousal": (float(per_song[:, 1].mean()), float(per_song[:, 1].std())),
                "official_split": {str(n): int(c) for n, c in zip(names, counts) if n},
                "failures": len(self.failures)}

    @property
    def provenance(self) -> dict:
        """The data set's record, made when the cache was prepared (``moodmap.core.provenance``)."""
        return provenance.complete(self.meta.get("dataset", {}))

    @property
    def dataset_label(self) -> str:
        """The data set's name and, when it is synthetic, how it was made: every accuracy figure names its data."""
        return provenance.label(self.provenance)


def resolve_cache_dir(path: Path, prefix: str | None = None) -> Path:
    """The folder of one config's cache under ``path``."""
    if (path / "meta.json").is_file():
        return path
    candidates = sorted(p.parent for p in path.glob("*/meta.json"))
    if prefix:
        candidates = [p for p in candidates if p.name.startswith(prefix)]
    if not candidates:
        raise CacheError(path, "no feature cache here; build one with `moodmap prepare`")
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise CacheError(path, f"holds caches for several feature configs ({names}); name one")
    return candidates[0]


def prepare_cache(dataset: Dataset, out: str | Path, config: FeatureConfig = FeatureConfig(),
                  jobs: int | None = None, progress: Callable[[int, int], None] | None = None,
                  engine: Engine = LOCAL) -> PrepareSummary:
    """Extract every song's excerpt features into ``out/<config_hash>/``, resuming what is done.

    Per-song failures are recorded and skipped. On KeyboardInterrupt the finished
    songs stay in shards and the summary says ``interrupted``; rerun to finish.
    """
    began = time.monotonic()
    folder = Path(out) / config_hash(config)
    shards = folder / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(shards)
    remove_stale_temps(folder)
    meta = _read_meta(folder) or _new_meta(dataset, config)
    _check_config(folder, meta, config)
    if "synthetic" not in meta["dataset"]:  # made before provenance was recorded: record it now
        meta["dataset"] = provenance.dataset_record(dataset.name, dataset.root)
    cached = _cached_keys(folder, meta)
    keys = {s.song_id: song_key(s) for s in dataset.songs}  # one stat per song, not one per use
    todo = [s for s in dataset.songs
            if keys[s.song_id] not in cached and not (shards / f"{keys[s.song_id]}.npz").exists()]
    done = len(dataset.songs) - len(todo)
    failures: dict[str, Failure] = {}
    extracted = 0
    interrupted = False
    if progress:
        progress(done, len(dataset.songs))
    todo.sort(key=_file_size, reverse=True)  # longest first: no core idles on one big file at the end
    tasks = [(str(s.path), config, s.song_id) for s in todo]
    try:
        for (_, _, song_id), outcome in run_tasks(extract_song, tasks, jobs, engine=engine, batch=4,
                                                  on_crash=_crashed):
            if isinstance(outcome, Failure):
                failures[song_id] = outcome
            else:
                _write_shard(shards / f"{keys[song_id]}.npz", outcome)
                extracted += 1
            done += 1
            if progress:
                progress(done, len(dataset.songs))
    except KeyboardInterrupt:
        interrupted = True
    summary = PrepareSummary(folder, len(dataset.songs), 0, extracted, len(dataset.songs) - len(todo),
                             list(failures.values()), interrupted=interrupted)
    if not interrupted:
        summary.excerpts = consolidate(folder, dataset, config, meta, list(failures.values()))
    summary.seconds = time.monotonic() - began
    return summary


def extract_song(task: tuple[str, FeatureConfig, str]) -> tuple[np.ndarray, np.ndarray] | Failure:
    """Worker: one song's excerpt features and their start times (or why there are none)."""
    audio_path, config, song_id = task
    try:
        features, windows = excerpt_logmel(audio_path, config)
    except Exception as exc:  # noqa: BLE001 — one odd file must not stop a batch of thousands
        return Failure.of(audio_path, exc, song_id)
    return features, np.array([w.start for w in windows])


def _crashed(task: tuple[str, FeatureConfig, str], reason: str) -> Failure:
    """A song whose worker process died every time it was tried: recorded like any failure."""
    audio_path, _, song_id = task
    return crashed(audio_path, reason, song_id)


def _write_shard(path: Path, outcome: tuple[np.ndarray, np.ndarray]) -> None:
    features, starts = outcome
    with atomic_path(path) as temp:
        with open(temp, "wb") as handle:
            np.savez(handle, features=features, starts=starts)


def _file_size(song: Song) -> int:
    try:
        return song.path.stat().st_size
    except OSError:
        return 0


def song_key(song: Song) -> str:
    """Identifies a song's features: its id, file name and size (a changed file is re-read)."""
    return hashlib.sha1(f"{song.song_id}\0{song.path.name}\0{_file_size(song)}".encode()).hexdigest()[:20]


def consolidate(folder: Path, dataset: Dataset, config: FeatureConfig, meta: dict, failures: list[Failure]) -> int:
    """Merge the current generation and new shards into the next one; returns its row count."""
    old = _open_old(folder, meta)
    plan = []  # (song, key, source, rows)
    for song in dataset.songs:
        key = song_key(song)
        shard = folder / "shards" / f"{key}.npz"
        if old and key in old[1]:
            plan.append((song, key, "old", old[1][key]))
        elif shard.exists():
            plan.append((song, key, shard, None))
    total = sum(len(rows) if source == "old" else _shard_length(source) for _, _, source, rows in plan)
    generation = int(meta.get("generation", 0)) + 1
    features_name, index_name = f"features.{generation}.npy", f"index.{generation}.csv"
    index_rows = []
    with atomic_path(folder / features_name) as temp:
        target = np.lib.format.open_memmap(temp, mode="w+", dtype=np.float32,
                                           shape=(total, config.n_mels, config.excerpt_frames))
        row = 0
        for song, key, source, rows in plan:
            if source == "old":
                block, starts = old[0][[r["row"] for r in rows]], [r["start"] for r in rows]
            else:
                with np.load(source) as data:
                    block, starts = data["features"], data["starts"]
            target[row:row + len(starts)] = block
            index_rows += [_index_row(row + i, song, key, i, float(start)) for i, start in enumerate(starts)]
            row += len(starts)
        target.flush()
        del target
    with atomic_path(folder / index_name) as temp:
        temp.write_text(_index_text(index_rows), encoding="utf-8")
    write_failures(folder, failures)
    previous = (meta.get("features"), meta.get("index"))
    meta.update(generation=generation, features=features_name, index=index_name, rows=total,
                songs=len(plan), updated=timestamp())
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=2))
    for name in previous:
        if name:
            (folder / name).unlink(missing_ok=True)
    for _, _, source, _ in plan:
        if source != "old":
            source.unlink(missing_ok=True)
    return total


def _shard_length(path: Path) -> int:
    with np.load(path) as data:
        return len(data["starts"])


def read_failures(folder: Path) -> list[Failure]:
    path = folder / "failures.json"
    if not path.exists():
        return []
    return [Failure(**item) for item in json.loads(path.read_text(encoding="utf-8"))]  # the fields it was written with


def write_failures(folder: Path, failures: list[Failure]) -> None:
    atomic_write_text(folder / "failures.json", json.dumps([dataclasses.asdict(f) for f in failures], indent=2))


def _open_old(folder: Path, meta: dict) -> tuple[np.ndarray, dict[str, list[dict]]] | None:
    """The current generation's features and its rows grouped by song key."""
    if not meta.get("features"):
        return None
    features = np.load(folder / meta["features"], mmap_mode="r")
    by_key: dict[str, list[dict]] = {}
    for row in _read_index(folder / meta["index"]):
        by_key.setdefault(row["key"], []).append(row)
    return features, by_key


def _cached_keys(folder: Path, meta: dict) -> set[str]:
    if not meta.get("index"):
        return set()
    return {row["key"] for row in _read_index(folder / meta["index"])}


def _index_row(row: int, song: Song, key: str, excerpt: int, start: float) -> list:
    return [row, song.song_id, excerpt, f"{start:.3f}", f"{song.valence:.6f}", f"{song.arousal:.6f}",
            "" if song.valence_sd is None else f"{song.valence_sd:.6f}",
            "" if song.arousal_sd is None else f"{song.arousal_sd:.6f}",
            song.split or "", song.group_key, str(song.path), key]


def _index_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS + ["key"])
    writer.writerows(rows)
    return buffer.getvalue()


def _read_index(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise CacheError(path, f"cannot read cache index: {exc.strerror or exc}") from exc
    for row in rows:
        row["row"] = int(row["row"])
        row["start"] = float(row["start"])
    return rows


def _read_meta(folder: Path) -> dict | None:
    path = folder / "meta.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CacheError(path, f"unreadable cache metadata: {exc}") from exc


def _new_meta(dataset: Dataset, config: FeatureConfig) -> dict:
    return {"version": 1, "config_hash": config_hash(config), "feature_config": config_dict(config),
            "dataset": provenance.dataset_record(dataset.name, dataset.root), "generation": 0}


def _check_config(folder: Path, meta: dict, config: FeatureConfig) -> None:
    if meta.get("config_hash") != config_hash(config):
        raise CacheError(folder, f"built with feature config {meta.get('config_hash')}, not {config_hash(config)}")


def _nan(values: list[str]) -> list[float]:
    return [float(v) if v != "" else float("nan") for v in values]
