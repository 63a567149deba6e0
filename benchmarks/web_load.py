"""The web app under concurrent load on loopback: predictions and map requests at once.

Starts `moodmap serve` on a free port with a generated library index (``--songs``),
then for ``--seconds`` keeps ``--clients`` threads uploading a 45 s mp3 clip of real
music (Debian game music, see music.py) to POST /api/predict, while ``--readers``
threads request GET /api/map and /api/songs. Reports throughput, p50/p95 latency
per kind of request, errors (any status other than 200), and the server's resident
memory at the start and end (flat memory: no growth with requests served).
The reference is the same clip analysed in one process by `moodmap.inference.predict`, so
the ratio shows what HTTP, uploads and the pool cost per analysis.

Run: .venv/bin/python benchmarks/web_load.py [--clients 4] [--readers 2] [--seconds 60] [--no-record]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from results import publish
from music import DATA, cut_clips, install_music
from loadgen import multipart, request, run_load, tree_rss, wait_until_up

HERE = Path(__file__).parent


def clip_mp3() -> bytes:
    """A 45 s mp3 clip of real music: what a user would drop on the page."""
    return sorted((DATA / "clips").glob("*.mp3"))[0].read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--songs", type=int, default=5000)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()

    cut_clips(install_music()[:30])
    payload = clip_mp3()
    with tempfile.TemporaryDirectory(prefix="moodmap-load-") as folder:
        from conftest import free_port, write_library_db

        db = write_library_db(Path(folder), songs=args.songs)
        reference = reference_seconds(payload, Path(folder))
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "moodmap.cli", "serve", "--db", str(db), "--port",
                                   str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, server)
            request(f"{url}/api/map")
            body, content_type = multipart("clip.mp3", payload)
            warm = [threading.Thread(target=request, args=(f"{url}/api/predict", body, content_type))
                    for _ in range(2 * args.clients)]  # every analysis worker loads torch and the model
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()
            memory_start = tree_rss(server.pid)
            began = time.perf_counter()
            results = run_load(url, {"predict": (body, content_type)}, args.clients, args.readers, args.seconds)
            results["_wall"] = [(0, time.perf_counter() - began)]
            memory_end = tree_rss(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = render(results, args, reference, memory_start, memory_end, len(payload))
    publish(report, record=not args.no_record)


def reference_seconds(payload: bytes, folder: Path) -> float:
    """One analysis of the same clip in this process (model loaded first)."""
    from moodmap.research.models.checkpoint import load_model
    from moodmap.inference.predict import predict_file

    path = folder / "clip.mp3"
    path.write_bytes(payload)
    model = load_model("paper")
    predict_file(path, model)
    began = time.perf_counter()
    for _ in range(5):
        predict_file(path, model)
    return (time.perf_counter() - began) / 5


def render(results, args, reference: float, memory_start: int, memory_end: int, payload: int) -> str:
    wall = results.pop("_wall")[0][1]
    lines = [
        f"## web_load.py — {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}",
        "",
        f"`moodmap serve` (2 analysis workers) on loopback, {args.songs}-song index, {wall:.0f} s of load: "
        f"{args.clients} clients uploading a 45 s mp3 clip of real music ({payload / 2**20:.1f} MB) to POST /api/predict, "
        f"{args.readers} readers alternating GET /api/map and GET /api/songs.",
        "",
        "| request | served | errors | per s | p50 (ms) | p95 (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, outcomes in results.items():
        ok = [seconds for status, seconds in outcomes if status == 200]
        errors = len(outcomes) - len(ok)
        p50 = 1000 * statistics.median(ok) if ok else float("nan")
        p95 = 1000 * float(np.percentile(ok, 95)) if ok else float("nan")
        lines.append(f"| {kind} | {len(outcomes)} | {errors} | {len(ok) / wall:.2f} | {p50:.0f} | {p95:.0f} |")
    predictions = len([1 for status, _ in results["predict"] if status == 200])
    lines += [
        "",
        f"One analysis of the clip in-process: {1000 * reference:.0f} ms, i.e. at most {2 / reference:.1f}/s on "
        f"2 cores; served {predictions / wall:.2f}/s over HTTP. Server memory (process + analysis workers) {memory_start / 2**20:.0f} MiB after "
        f"warm-up, {memory_end / 2**20:.0f} MiB at the end.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
