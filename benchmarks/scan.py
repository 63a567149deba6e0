"""Library scan on real music: moodmap vs VibeNet, unchanged rescans, and memory.

1. throughput  The same 45 s mp3 clips of Debian game music (see music.py), end to end
               from the command line — process start, model load, decode, features,
               inference, results written — alternating, ``--repeat`` times each, median:
                 moodmap scan CLIPS --db NEW.sqlite --jobs 2
                 vibenet -q -f csv -j 2 CLIPS         (VibeNet 0.1.0, its CLI's own 2 threads)
               VibeNet is installed into a throwaway venv (benchmarks/_vibenet) as a
               yardstick only; it is never a dependency of moodmap.
2. rescan      A 10 000-file library (hard links to short clips, 100 album folders of
               100 files) scanned once, then scanned again unchanged (target < 10 s).
3. memory      Peak resident memory of the whole process tree (driver + workers, sampled
               every 50 ms) during the first scans of 1 000 and of 10 000 files: flat in
               library size means the two peaks are about equal.

Run: .venv/bin/python benchmarks/scan.py [--repeat 3] [--library 10000] [--no-record]
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from results import publish
from music import DATA, cut_clips, install_music
from loadgen import tree_rss

HERE = Path(__file__).parent
MOODMAP = Path(sys.executable).parent / "moodmap"
VIBENET_VENV = HERE / "_vibenet"
SHORT_SECONDS = 8


def vibenet() -> Path:
    """VibeNet's command, installed into its own throwaway venv on first use."""
    command = VIBENET_VENV / "bin" / "vibenet"
    if not command.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VIBENET_VENV)], check=True)
        subprocess.run([str(VIBENET_VENV / "bin" / "pip"), "install", "-q", "vibenet==0.1.0"], check=True)
    return command


def run(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak tree RSS and standard output of one command; fails loudly."""
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        out.seek(0), err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{err.read()[-2000:]}")
        return seconds, peak, out.read()


def scan(folder: Path, db: Path, jobs: int) -> tuple[float, int]:
    seconds, peak, _ = run([str(MOODMAP), "scan", str(folder), "--db", str(db), "--jobs", str(jobs)])
    return seconds, peak


def throughput(clips: Path, jobs: int, repeat: int, work: Path) -> dict:
    """Median end-to-end seconds of both tools on the clips, and their agreement."""
    command = vibenet()
    ours, theirs, vibe_csv = [], [], ""
    for i in range(repeat):
        ours.append(scan(clips, work / f"throughput-{i}.sqlite", jobs)[0])
        seconds, _, vibe_csv = run([str(command), "-q", "-f", "csv", "-j", str(jobs), str(clips)])
        theirs.append(seconds)
    return {"moodmap": statistics.median(ours), "vibenet": statistics.median(theirs), "runs": (ours, theirs),
            "agreement": agreement(work / "throughput-0.sqlite", vibe_csv)}


def agreement(db: Path, vibe_csv: str) -> tuple[float, float]:
    """Pearson r of moodmap's valence/arousal with VibeNet's valence/energy on the same files."""
    with sqlite3.connect(db) as connection:
        ours = {Path(p).name: (v, a) for p, v, a in connection.execute("SELECT path, valence, arousal FROM songs")}
    theirs = {Path(r["path"]).name: (float(r["valence"]), float(r["energy"])) for r in csv.DictReader(io.StringIO(vibe_csv))}
    names = sorted(set(ours) & set(theirs))
    a, b = np.array([ours[n] for n in names]), np.array([theirs[n] for n in names])
    return tuple(float(np.corrcoef(a[:, k], b[:, k])[0, 1]) for k in range(2))


def build_library(clips: list[Path], root: Path, files: int, distinct: int = 20) -> Path:
    """``files`` audio files in album folders of 100: hard links to ``distinct`` short FLAC clips."""
    root.mkdir(parents=True, exist_ok=True)
    sources = []
    for i, clip in enumerate(clips[:distinct]):
        data, rate = sf.read(str(clip), frames=SHORT_SECONDS * 44100, dtype="float32")
        sources.append(root / f"source-{i:02d}.flac")
        sf.write(str(sources[-1]), data, rate)
    library = root / f"library-{files}"
    for n in range(files):
        album = library / f"album-{n // 100:03d}"
        album.mkdir(parents=True, exist_ok=True)
        os.link(sources[n % len(sources)], album / f"{n % 100:02d} track.flac")
    return library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--library", type=int, default=10_000, help="files in the large library")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()

    cut_clips(install_music()[:30])
    clips = sorted((DATA / "clips").glob("*.mp3"))
    work = Path(tempfile.mkdtemp(prefix="moodmap-scan-bench-"))
    try:
        speed = throughput(DATA / "clips", args.jobs, args.repeat, work)
        first, libraries = {}, {}
        for size in (args.library // 10, args.library):
            libraries[size] = build_library(clips, work / f"l{size}", size)
            first[size] = scan(libraries[size], work / f"library-{size}.sqlite", args.jobs)
        rescan = scan(libraries[args.library], work / f"library-{args.library}.sqlite", args.jobs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = render(len(clips), args.jobs, speed, first, rescan)
    publish(report, record=not args.no_record)


def render(n_clips: int, jobs: int, speed: dict, first: dict, rescan: tuple[float, int]) -> str:
    mib = 1 << 20
    small, large = sorted(first)
    r_valence, r_arousal = speed["agreement"]
    ratio = speed["vibenet"] / speed["moodmap"]
    lines = [
        f"## scan.py — {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{jobs} jobs.",
        "",
        f"**Throughput**: {n_clips} mp3 clips of 45 s (Debian game music), end to end from the command line, "
        f"median of {len(speed['runs'][0])} alternating runs each.",
        "",
        "| tool | seconds | files/s | runs (s) |",
        "|---|---:|---:|---|",
        f"| VibeNet 0.1.0 (`vibenet -f csv -j {jobs}`) | {speed['vibenet']:.1f} | {n_clips / speed['vibenet']:.2f} | "
        + ", ".join(f"{s:.1f}" for s in speed["runs"][1]) + " |",
        f"| moodmap (`moodmap scan --jobs {jobs}`) | {speed['moodmap']:.1f} | {n_clips / speed['moodmap']:.2f} | "
        + ", ".join(f"{s:.1f}" for s in speed["runs"][0]) + " |",
        "",
        f"moodmap / VibeNet throughput: **{ratio:.2f}×** (target ≥ 2×: {'met' if ratio >= 2 else 'not met'}). "
        f"Agreement on these clips (Pearson r, moodmap's demo weights vs VibeNet): valence {r_valence:.2f}, "
        f"arousal vs energy {r_arousal:.2f}.",
        "",
        f"**Library size** (hard links to {SHORT_SECONDS} s FLAC clips, 100 per album folder):",
        "",
        "| scan | files | seconds | files/s | peak RSS, all processes (MiB) |",
        "|---|---:|---:|---:|---:|",
        f"| first scan | {small} | {first[small][0]:.1f} | {small / first[small][0]:.0f} | {first[small][1] / mib:.0f} |",
        f"| first scan | {large} | {first[large][0]:.1f} | {large / first[large][0]:.0f} | {first[large][1] / mib:.0f} |",
        f"| unchanged rescan | {large} | **{rescan[0]:.2f}** | {large / rescan[0]:.0f} | {rescan[1] / mib:.0f} |",
        "",
        f"Peak memory {large} vs {small} files: {first[large][1] / first[small][1]:.2f}× (flat ≈ 1). "
        f"Unchanged rescan of {large} files: {rescan[0]:.2f} s (target < 10 s).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
