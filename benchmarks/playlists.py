"""Playlist queries on a 100 000-song library index: moodmap.library.playlists vs plain Python.

A library index of ``--songs`` rows (random positions and spreads, 2 000 artists) is
written to a temp SQLite file the way `moodmap scan` lays it out, loaded once into a
``SongTable`` (timed: what a server or the CLI pays at start), then each kind of query
runs ``--repeat`` times (median). The reference is the straightforward implementation
of the same query — a distance per row in a Python loop, ``sorted``, take the first n —
measured in the same run for the two kinds it can express simply (mood, near).
Target: every query well under 100 ms.

Run: .venv/bin/python benchmarks/playlists.py [--songs 100000] [--repeat 15] [--no-record]
"""
from __future__ import annotations

import argparse
import math
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from moodmap.library.index import Library
from moodmap.core.mood import EMOTION_BY_NAME, describe
from moodmap.library.song_table import SongTable
from moodmap.library.playlists import (Constraints, curve_playlist, mood_playlist, near_playlist,
                               path_playlist)
from results import publish

HERE = Path(__file__).parent


def write_index(path: Path, songs: int, seed: int = 0) -> None:
    """A library index with ``songs`` rows, inserted in one transaction."""
    rng = np.random.default_rng(seed)
    points = rng.beta(2.5, 2.5, (songs, 2))
    spreads = rng.uniform(0, 0.06, (songs, 2))
    library = Library(path)
    rows = []
    for i, ((v, a), (sv, sa)) in enumerate(zip(points.tolist(), spreads.tolist())):
        mood = describe(v, a)
        rows.append((f"/music/artist {i % 2000}/album {i % 97}/{i:06d} track.flac", f"f{i}", 1, 1, f"Track {i}",
                     f"Artist {i % 2000}", f"Album {i % 97}", 200.0, v, a, sv, sa, mood.quadrant, mood.emotion))
    with library.db:
        library.db.executemany(
            "INSERT INTO songs (path, fingerprint, size, mtime_ns, title, artist, album, duration, valence, arousal,"
            " valence_spread, arousal_spread, quadrant, emotion, model, model_sha, analysed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', 'x', '2026-01-01')", rows)
    library.close()


def median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def plain_mood(rows: list[dict], mood: str, n: int) -> list[dict]:
    """The straightforward mood query: filter by nearest emotion, sort by distance to its anchor."""
    anchor = EMOTION_BY_NAME[mood]
    members = [r for r in rows if describe(r["valence"], r["arousal"]).emotion == mood]
    return sorted(members, key=lambda r: math.dist((r["valence"], r["arousal"]), (anchor.valence, anchor.arousal)))[:n]


def plain_near(rows: list[dict], origin: dict, n: int) -> list[dict]:
    """The straightforward neighbour query: a distance per row, sorted."""
    others = [r for r in rows if r is not origin]
    return sorted(others, key=lambda r: math.dist((r["valence"], r["arousal"]),
                                                  (origin["valence"], origin["arousal"])))[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="moodmap-playlists-") as folder:
        db = Path(folder) / "library.sqlite"
        write_index(db, args.songs)
        began = time.perf_counter()
        table = SongTable.from_library(db)
        load_ms = 1000 * (time.perf_counter() - began)
    low, high = int(np.argmin(table.points.sum(1))), int(np.argmax(table.points.sum(1)))
    origin = table.rows[12345 % len(table)]
    twenty = Constraints(n=20)
    queries = [
        ("--mood happy --n 20", lambda: mood_playlist(table, "happy", twenty),
         lambda: plain_mood(list(table.rows), "happy", 20)),
        ("--quadrant Q3 --n 20", lambda: mood_playlist(table, "Q3", twenty), None),
        ("--mood calm --seed 1 --n 20", lambda: mood_playlist(table, "calm", Constraints(n=20, seed=1)), None),
        ("--near ID --n 20", lambda: near_playlist(table, str(origin["id"]), twenty),
         lambda: plain_near(list(table.rows), origin, 20)),
        ("--near ID --n 20 --min-distance 0.02 --exclude-artist-repeats",
         lambda: near_playlist(table, str(origin["id"]), Constraints(20, 0.02, True)), None),
        ("--from A --to B --steps 20", lambda: path_playlist(table, str(table.rows[low]["id"]),
                                                             str(table.rows[high]["id"]), 20), None),
        ("--arousal arc --n 20", lambda: curve_playlist(table, "arc", twenty), None),
    ]
    results = []
    for name, ours, plain in queries:
        reference = median_ms(plain, max(3, args.repeat // 5)) if plain else None
        results.append((name, median_ms(ours, args.repeat), reference))
    report = render(args.songs, load_ms, results)
    publish(report, record=not args.no_record)


def render(songs: int, load_ms: float, results) -> str:
    lines = [
        f"## playlists.py — {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}",
        "",
        f"{songs} songs, {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"median of repeated queries on one loaded index. Loading the index from SQLite: {load_ms:.0f} ms (once).",
        "",
        "| query | moodmap (ms) | plain Python (ms) | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for name, ours, reference in results:
        plain = f"{reference:.0f}" if reference else "–"
        ratio = f"{reference / ours:.0f}×" if reference else "–"
        lines.append(f"| `{name}` | **{ours:.1f}** | {plain} | {ratio} |")
    worst = max(r[1] for r in results)
    lines += ["", f"Slowest query {worst:.1f} ms (target: well under 100 ms)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
