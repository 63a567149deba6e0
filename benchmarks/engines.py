"""The Ray engine against the local engine: overhead per file of `prepare` and `scan`.

Same files, same process, same number of CPUs (2 local workers vs a 2-CPU Ray), each
engine timed ``--repeat`` times in alternation, median reported, on the full set of
clips and on a third of them. The difference between the two sizes divided by the
difference in files is the cost per file with every fixed cost removed (the local
pool's start — spawn, import torch, load the model — and Ray's task set-up), so the
ratio of those per-file costs is Ray's overhead per file; the target is ≤ 1.25 on 2
cores. Fixed costs are reported beside: the Ray session is started once before the
timed runs, as on a cluster where Ray is already up, and its start-up is timed on
its own.

Run: .venv/bin/python benchmarks/engines.py [--repeat 3] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from results import publish
from music import DATA, cut_clips, install_music

from moodmap.research.cache import prepare_cache
from moodmap.research.datasets import load_dataset
from moodmap.core.engines import LOCAL, Engine
from moodmap.library.scan import scan_library

HERE = Path(__file__).parent
RAY = Engine("ray")


def timed(job, engine: Engine, work: Path, label: str) -> float:
    """Seconds of one fresh run of ``job`` on ``engine`` (its output folder is new each time)."""
    out = work / f"{label}-{time.monotonic_ns()}"
    began = time.perf_counter()
    job(out, engine)
    seconds = time.perf_counter() - began
    shutil.rmtree(out, ignore_errors=True)
    return seconds


def subset(clips: Path, manifest: Path, work: Path, n: int) -> tuple[Path, Path]:
    """A folder of the first ``n`` clips (hard links) and its manifest."""
    folder = work / f"clips-{n}"
    folder.mkdir()
    lines = manifest.read_text().splitlines()
    for line in lines[1:n + 1]:
        name = line.split(",")[0].split("/")[-1]
        os.link(clips / name, folder / name)
    small = work / f"clips-{n}.csv"
    small.write_text("\n".join([lines[0]] + [line.replace("clips/", f"clips-{n}/") for line in lines[1:n + 1]]) + "\n")
    return folder, small


def jobs_for(clips: Path, manifest: Path, jobs: int) -> dict:
    """The two measured jobs, each writing into a folder it is given."""
    dataset = load_dataset(manifest, "manifest", "0-1")

    def prepare(out: Path, engine: Engine) -> None:
        summary = prepare_cache(dataset, out, jobs=jobs, engine=engine)
        assert not summary.failures, summary.failures

    def scan(out: Path, engine: Engine) -> None:
        out.mkdir(parents=True)
        summary = scan_library(clips, out / "library.sqlite", jobs=jobs, engine=engine)
        assert summary.analysed == summary.files and not summary.failures

    return {"prepare": prepare, "scan": scan}


def measure(job, engine: Engine, work: Path, repeat: int) -> tuple[float, list[float]]:
    runs = [timed(job, engine, work, "run") for _ in range(repeat)]
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    import ray

    manifest = cut_clips(install_music()[:30])
    clips = DATA / "clips"
    n = len(list(clips.glob("*.mp3")))
    work = Path(tempfile.mkdtemp(prefix="moodmap-engines-"))
    small_n = n // 3
    small_clips, small_manifest = subset(clips, manifest, work, small_n)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    began = time.perf_counter()
    ray.init(address="local", num_cpus=args.jobs, include_dashboard=False, logging_level="ERROR")
    ray_start = time.perf_counter() - began
    rows = []
    try:
        large, small = jobs_for(clips, manifest, args.jobs), jobs_for(small_clips, small_manifest, args.jobs)
        for name in large:
            timed(large[name], RAY, work, "warm")  # Ray's workers import torch once; later runs reuse them
            times = {}
            for engine in (LOCAL, RAY):
                times[engine.name] = {size: measure(jobs[name], engine, work, args.repeat)
                                      for size, jobs in ((n, large), (small_n, small))}
            rows.append((name, times))
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    report = render(n, small_n, args.jobs, ray_start, rows)
    publish(report, record=not args.no_record)


def render(n: int, small_n: int, jobs: int, ray_start: float, rows: list) -> str:
    lines = [f"## engines.py — {datetime.date.today()} on {platform.node() or 'vm'}", "",
             f"45 s mp3 clips of Debian game music, {n} and {small_n} files, {jobs} CPUs either way "
             f"({platform.machine()}, {subprocess.getoutput('nproc')} cores). Local = a process pool started inside "
             f"each run (as `moodmap scan` does); Ray = a {jobs}-CPU local Ray already running (its start-up: "
             f"{ray_start:.1f} s), batches of 4 files. Per file = (time for {n} − time for {small_n}) / "
             f"{n - small_n}; fixed = what is left at zero files. Median of the runs.", "",
             f"| job | local {n} files (s) | Ray {n} files (s) | local per file (ms) | Ray per file (ms) | "
             "**Ray / local per file** | local fixed (s) | Ray fixed (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, times in rows:
        cells = []
        for engine in ("local", "ray"):
            big, little = times[engine][n][0], times[engine][small_n][0]
            per_file = (big - little) / (n - small_n)
            cells.append((big, per_file, big - per_file * n))
        (lb, lp, lf), (rb, rp, rf) = cells
        lines.append(f"| {name} | {lb:.2f} | {rb:.2f} | {lp * 1000:.0f} | {rp * 1000:.0f} | **{rp / lp:.2f}×** | "
                     f"{lf:.2f} | {rf:.2f} |")
    runs = "; ".join(f"{name} {engine} {size}: {' '.join(f'{x:.2f}' for x in times[engine][size][1])}"
                     for name, times in rows for engine in times for size in times[engine])
    return "\n".join(lines) + f"\n\nAll runs (s): {runs}.\n"


if __name__ == "__main__":
    main()
