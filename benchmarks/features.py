"""Feature extraction speed on real music: moodmap vs the plain librosa pipeline.

Setup (automatic, needs root for apt): installs Debian's game-music packages
(singularity-music, hyperrogue-music), takes up to 30 OGG tracks, and cuts 45 s
clips from their middles into benchmarks/_data/ (never committed).

Measured in one process, on the same files, the reference first:
  1. full tracks     librosa.load(sr=16000) + melspectrogram + power_to_db, one by one
                     vs moodmap track_logmel over --jobs worker processes
  2. prepare         the paper's 3 × 15 s excerpts of 45 s clips into a feature cache
                     vs librosa on the same clips (load, cut, mel per excerpt)
  3. tagging path    3 × 15 s excerpts from the middle of each full track (seek, decode
                     only the span) vs the full-track reference of 1.

Prints the ratios and appends a dated section to benchmarks/RESULTS.md.
Run: make bench   (or .venv/bin/python benchmarks/features.py --jobs 2)
"""
from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from moodmap.core.audio import load_audio
from moodmap.research.cache import prepare_cache
from moodmap.core.config import FeatureConfig
from moodmap.research.datasets import load_manifest
from moodmap.core.engines import run_tasks
from moodmap.core.features import excerpt_logmel, track_logmel
from results import publish
from music import cut_clips, install_music

HERE = Path(__file__).parent


def reference_track(path: Path) -> np.ndarray:
    import librosa

    y, _ = librosa.load(str(path), sr=16000)
    return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_mels=80))


def reference_clip(path: Path) -> np.ndarray:
    import librosa

    y, _ = librosa.load(str(path), sr=16000)
    y = y / np.max(np.abs(y))
    return np.stack([librosa.power_to_db(librosa.feature.melspectrogram(y=y[i * 240000:(i + 1) * 240000],
                                                                        sr=16000, n_mels=80)) for i in range(3)])


def timed(function, items) -> float:
    began = time.perf_counter()
    for item in items:
        function(item)
    return time.perf_counter() - began


def timed_parallel(function, items, jobs: int) -> float:
    began = time.perf_counter()
    for _ in run_tasks(function, items, jobs):
        pass
    return time.perf_counter() - began


def tagging_features(path: Path):
    return excerpt_logmel(path, FeatureConfig(anchor="center"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tracks", type=int, default=30)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()

    tracks = install_music()[: args.tracks]
    tracks.sort(key=lambda p: p.stat().st_size, reverse=True)  # longest first, as prepare orders its work
    if not tracks:
        sys.exit("no Debian game-music OGG files found or installable")
    manifest = cut_clips(tracks)
    clips = [manifest.parent / line.split(",")[0] for line in manifest.read_text().splitlines()[1:]]
    audio_seconds = sum(sf.info(str(t)).duration for t in tracks)
    reference_track(tracks[0]), track_logmel(tracks[0]), load_audio(clips[0])  # warm up both pipelines

    rows = []
    ref_full = timed(reference_track, tracks)
    ours_full = timed_parallel(track_logmel, tracks, args.jobs)
    ours_full_1 = timed(track_logmel, tracks)
    rows.append(("full tracks", ref_full, ours_full, ours_full_1))

    ref_clips = timed(reference_clip, clips)
    out = Path(tempfile.mkdtemp(prefix="moodmap-bench-"))
    try:
        dataset = load_manifest(manifest)
        began = time.perf_counter()
        prepare_cache(dataset, out / "parallel", jobs=args.jobs)
        ours_clips = time.perf_counter() - began
        began = time.perf_counter()
        prepare_cache(dataset, out / "serial", jobs=1)
        ours_clips_1 = time.perf_counter() - began
    finally:
        shutil.rmtree(out, ignore_errors=True)
    rows.append((f"prepare {len(clips)} clips of 45 s (3 × 15 s each)", ref_clips, ours_clips, ours_clips_1))

    ours_tag = timed_parallel(tagging_features, tracks, args.jobs)
    ours_tag_1 = timed(tagging_features, tracks)
    rows.append(("tagging path (3 × 15 s of full tracks)", ref_full, ours_tag, ours_tag_1))

    report = render(rows, len(tracks), audio_seconds, args.jobs)
    publish(report, record=not args.no_record)


def render(rows, n_tracks: int, audio_seconds: float, jobs: int) -> str:
    lines = [
        f"## features.py — {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}",
        "",
        f"{n_tracks} Debian game-music OGG tracks ({audio_seconds / 60:.1f} min of audio), "
        f"{jobs} jobs, {platform.processor() or platform.machine()}, Python {platform.python_version()}.",
        "Reference: librosa.load(sr=16000) + melspectrogram(n_mels=80) + power_to_db, one file after another.",
        "",
        "| task | librosa (s) | moodmap, " + f"{jobs} jobs (s) | moodmap, 1 job (s) | speed-up ({jobs} jobs) | speed-up (1 job) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, ref, ours, ours_1 in rows:
        lines.append(f"| {name} | {ref:.2f} | {ours:.2f} | {ours_1:.2f} | **{ref / ours:.1f}×** | {ref / ours_1:.1f}× |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
