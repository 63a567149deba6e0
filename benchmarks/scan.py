"""Library scan as a user meets it: moodmap vs VibeNet, start-up, install size, big libraries.

1. throughput  End to end from the command line — process start, model load, decode,
               features, inference, results written — alternating, ``--repeat`` times
               each, on (a) 45 s mp3 clips and (b) the full-length OGG tracks they were
               cut from (Debian game music, see music.py):
                 moodmap scan FOLDER --db NEW.sqlite --jobs 2
                 vibenet -q -f csv -j 2 FOLDER         (VibeNet 0.1.0, its CLI's own 2 threads)
               VibeNet is installed into a throwaway venv (benchmarks/_vibenet) as a
               yardstick only; it is never a dependency of moodmap. Targets: ≥ 3× on the
               clips, ≥ 6× on the full tracks.
2. start-up    ``moodmap --help`` and an unchanged rescan of the clips (targets < 0.3 s and
               < 0.5 s), each ``--repeat`` + 2 times.
3. install     ``du`` of a fresh venv with ``pip install .`` (the library side; target ≤ 400 MB)
               beside VibeNet's venv (``--no-install`` skips the build).
4. rescan      A 10 000-file library (hard links to short clips, 100 album folders of
               100 files) scanned once, then scanned again unchanged (target < 10 s).
5. memory      Peak resident memory of the whole process tree (driver + workers, sampled
               every 50 ms) during the first scans of 1 000 and of 10 000 files: flat in
               library size means the two peaks are about equal.

Every figure is printed with its runs (median, and the range: on a shared machine one run
can be off by a third). Run: .venv/bin/python benchmarks/scan.py [--repeat 3] [--library 10000]
[--no-install] [--no-record]
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


def throughput(folder: Path, jobs: int, repeat: int, work: Path) -> dict:
    """Both tools' end-to-end seconds on the files of ``folder`` (alternating runs), and their agreement."""
    command = vibenet()
    ours, theirs, vibe_csv = [], [], ""
    for i in range(repeat):
        ours.append(scan(folder, work / f"{folder.name}-{i}.sqlite", jobs)[0])
        seconds, _, vibe_csv = run([str(command), "-q", "-f", "csv", "-j", str(jobs), str(folder)])
        theirs.append(seconds)
    return {"moodmap": ours, "vibenet": theirs, "agreement": agreement(work / f"{folder.name}-0.sqlite", vibe_csv),
            "db": work / f"{folder.name}-0.sqlite"}


def startup(clips: Path, db: Path, runs: int) -> dict:
    """Seconds of `moodmap --help` and of an unchanged rescan of the clips (already indexed in ``db``)."""
    help_runs = [run([str(MOODMAP), "--help"])[0] for _ in range(runs)]
    rescans = [run([str(MOODMAP), "scan", str(clips), "--db", str(db), "--jobs", "2"])[0] for _ in range(runs)]
    return {"help": help_runs, "rescan": rescans}


def install_size(work: Path) -> dict:
    """MB of a fresh venv with `pip install .` (no extras) and of VibeNet's venv."""
    venv = work / "light-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(HERE.parent)], check=True, capture_output=True)
    torch = subprocess.run([str(venv / "bin" / "python"), "-c", "import torch"], capture_output=True).returncode == 0
    return {"moodmap": du_mb(venv), "vibenet": du_mb(VIBENET_VENV), "torch": torch}


def du_mb(folder: Path) -> float:
    return int(subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=True)
               .stdout.split()[0]) / 1024


def full_tracks(tracks: list[Path], work: Path) -> Path:
    """A folder of links to the full-length tracks (their audio is never copied)."""
    folder = work / "tracks"
    folder.mkdir()
    for track in tracks:
        (folder / track.name).symlink_to(track)
    return folder


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
    parser.add_argument("--library", type=int, default=10_000, help="files in the large library (0: skip)")
    parser.add_argument("--no-install", action="store_true", help="skip building a fresh venv to measure its size")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()

    tracks = install_music()[:30]
    cut_clips(tracks)
    clips = sorted((DATA / "clips").glob("*.mp3"))
    work = Path(tempfile.mkdtemp(prefix="moodmap-scan-bench-"))
    try:
        speed = {"clips": throughput(DATA / "clips", args.jobs, args.repeat, work)}
        speed["tracks"] = throughput(full_tracks(tracks, work), args.jobs, args.repeat, work)
        start = startup(DATA / "clips", speed["clips"]["db"], args.repeat + 2)
        size = None if args.no_install else install_size(work)
        first, rescan = {}, None
        if args.library:
            libraries = {}
            for n in (args.library // 10, args.library):
                libraries[n] = build_library(clips, work / f"l{n}", n)
                first[n] = scan(libraries[n], work / f"library-{n}.sqlite", args.jobs)
            rescan = scan(libraries[args.library], work / f"library-{args.library}.sqlite", args.jobs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    minutes = sum(sf.info(str(t)).duration for t in tracks) / 60
    report = render(len(clips), len(tracks), minutes, args.jobs, speed, start, size, first, rescan)
    publish(report, record=not args.no_record)


def spread(runs: list[float], digits: int = 1) -> str:
    """Median and range of some runs: "7.5 (7.2–9.0)"."""
    return f"{statistics.median(runs):.{digits}f} ({min(runs):.{digits}f}–{max(runs):.{digits}f})"


def met(ok: bool) -> str:
    return "met" if ok else "not met"


def render(n_clips: int, n_tracks: int, minutes: float, jobs: int, speed: dict, start: dict, size: dict | None,
           first: dict, rescan: tuple[float, int] | None) -> str:
    lines = [
        f"## scan.py — {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{jobs} jobs. End to end from the command line, {len(speed['clips']['moodmap'])} alternating runs each; "
        "median (range).",
        "",
        "| files | VibeNet 0.1.0 (`vibenet -f csv -j 2`), s | moodmap (`moodmap scan --jobs 2`), s | moodmap is | "
        "range over run pairs | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    targets = {"clips": 3.0, "tracks": 6.0}
    names = {"clips": f"{n_clips} mp3 clips of 45 s", "tracks": f"{n_tracks} full-length OGG tracks ({minutes:.0f} min)"}
    for key, result in speed.items():
        pairs = [v / m for m, v in zip(result["moodmap"], result["vibenet"])]
        ratio = statistics.median(result["vibenet"]) / statistics.median(result["moodmap"])
        lines.append(f"| {names[key]} | {spread(result['vibenet'])} | {spread(result['moodmap'])} | **{ratio:.2f}×** | "
                     f"{min(pairs):.2f}–{max(pairs):.2f}× | ≥ {targets[key]:g}×: {met(min(pairs) >= targets[key])} |")
    r_valence, r_arousal = speed["clips"]["agreement"]
    lines += [
        "",
        f"Agreement on the clips (Pearson r, moodmap's demo weights vs VibeNet): valence {r_valence:.2f}, "
        f"arousal vs energy {r_arousal:.2f}.",
        "",
        f"**Start-up** ({len(start['help'])} runs each): `moodmap --help` {spread(start['help'], 2)} s (target < 0.3 s: "
        f"{met(max(start['help']) < 0.3)}); unchanged rescan of the {n_clips} clips {spread(start['rescan'], 2)} s "
        f"(target < 0.5 s: {met(max(start['rescan']) < 0.5)}).",
    ]
    if size:
        lines += ["", f"**Install size** (`du` of a fresh venv, pip and setuptools included): `pip install .` "
                      f"{size['moodmap']:.0f} MB{' (with torch!)' if size['torch'] else ', no torch'} (target ≤ 400 MB: "
                      f"{met(size['moodmap'] <= 400 and not size['torch'])}); VibeNet 0.1.0 with its dependencies "
                      f"{size['vibenet']:.0f} MB."]
    if rescan:
        lines += library_lines(first, rescan)
    return "\n".join(lines) + "\n"


def library_lines(first: dict, rescan: tuple[float, int]) -> list[str]:
    mib = 1 << 20
    small, large = sorted(first)
    return [
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


if __name__ == "__main__":
    main()
