"""kill -9 at random points, again and again: after the last rerun the cache, the library DB,
the sweep store and the audio files are complete and consistent, with nothing lost or doubled."""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from moodmap.core.audio_payload import audio_digest

KILLS = int(os.environ.get("MOODMAP_KILLS", "3"))  # `make stress` raises it


def moodmap(*args: str) -> list[str]:
    return [sys.executable, "-m", "moodmap.cli", *args]


def run_and_kill(command: list[str], when, count, delay: float = 0.0, timeout: float = 300) -> int | None:
    """Start ``command``; once ``when()`` holds, wait ``delay`` s and SIGKILL its whole process
    group (workers included). What ``count()`` says right after the kill (the job's progress at
    that moment: nothing moves once it is dead), or None when the job ended first."""
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while victim.poll() is None and not when():
        assert time.monotonic() < deadline, f"{command} neither progressed nor ended"
        time.sleep(0.02)
    time.sleep(delay)
    if victim.poll() is not None:
        return None
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    if victim.returncode == 0:  # it finished between the last look and the kill
        return None
    assert victim.returncode == -signal.SIGKILL, victim.returncode
    return count()


def kill_at_random_points(command: list[str], count, total: int, seed: int, tail: float = 0.5) -> tuple[list, int | None]:
    """Kill ``command`` once after a random number of its ``total`` items are done (as ``count()``
    tells) on each of ``KILLS - 1`` runs, once more a random moment after all are done (the
    finishing phase: consolidation, tag writing), then run it to the end. Returns the progress
    at each mid-job kill (None: the job ended first) and at the finishing-phase kill."""
    rng = np.random.default_rng(seed)
    midway = []
    for _ in range(KILLS - 1):
        done = count()
        if done >= total - 1:
            break
        target = int(rng.integers(done + 1, max(done + 2, total - 1)))  # leave two to do where it can
        midway.append(run_and_kill(command, lambda: count() >= target, count))
    finishing = run_and_kill(command, lambda: count() >= total, count, delay=float(rng.uniform(0, tail)))
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    return midway, finishing


def landed_midway(midway: list, total: int) -> bool:
    """Whether a kill hit the job mid-progress: some of its items done, not all."""
    return any(k is not None and 0 < k < total for k in midway)


def rows(db: Path, table: str) -> int:
    try:
        # read-only: a plain connect would create an empty file where moodmap has not yet made its index
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as connection:
            return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return 0


def no_temporaries(folder: Path) -> list[Path]:
    from moodmap.core.atomic import TEMP_SUFFIX

    return [p for p in folder.rglob(f"*{TEMP_SUFFIX}")]


def test_prepare_killed_again_and_again_ends_with_the_clean_cache(synth_set, synth_cache, tmp_path):
    from moodmap.research.cache import FeatureCache

    command = moodmap("prepare", str(synth_set), "--out", str(tmp_path), "--jobs", "2")
    midway, _ = kill_at_random_points(command, lambda: len(list(tmp_path.glob("*/shards/*.npz"))), 12, seed=1, tail=0.3)
    assert landed_midway(midway, 12), f"no kill landed mid-job (shards at each kill: {midway})"
    cache, clean = FeatureCache.open(tmp_path), FeatureCache.open(synth_cache)
    assert sorted(zip(cache.song_ids, cache.excerpt)) == sorted(zip(clean.song_ids, clean.excerpt))
    order, clean_order = np.lexsort((cache.excerpt, cache.song_ids)), np.lexsort((clean.excerpt, clean.song_ids))
    np.testing.assert_allclose(np.array(cache.features)[order], np.array(clean.features)[clean_order], atol=1e-4)
    assert not no_temporaries(tmp_path)


def test_scan_with_tag_writing_killed_again_and_again_loses_nothing(synth_set, tmp_path):
    from moodmap.library.tags import read_mood_tags

    folder = tmp_path / "music"
    shutil.copytree(synth_set / "clips_45seconds", folder)
    before = {p.name: audio_digest(p) for p in folder.glob("*.flac")}
    db = tmp_path / "library.sqlite"
    command = moodmap("scan", str(folder), "--db", str(db), "--write-tags", "--jobs", "2")
    midway, _ = kill_at_random_points(command, lambda: rows(db, "songs"), len(before), seed=2, tail=0.8)
    assert landed_midway(midway, len(before)), f"no kill landed mid-scan (songs indexed at each kill: {midway})"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        indexed = connection.execute("SELECT path, size, mtime_ns FROM songs").fetchall()
    assert sorted(Path(r[0]).name for r in indexed) == sorted(before)  # every file once
    for path, size, mtime_ns in indexed:
        stat = Path(path).stat()
        assert (stat.st_size, stat.st_mtime_ns) == (size, mtime_ns), f"{path}: index out of step with the file"
        assert audio_digest(path) == before[Path(path).name], f"{path}: audio changed"
        assert read_mood_tags(path), f"{path}: no mood tags"
    assert not no_temporaries(folder)


@pytest.mark.slow  # eight kills of a sweep, ~40 CPU-s; tests/test_sweep.py kills one in make test
def test_sweep_killed_again_and_again_stores_every_run_once(synth_cache, tmp_path):
    command = moodmap("sweep", "paper", str(synth_cache), "--out", str(tmp_path), "--runs", "2", "--epochs", "1",
                      "--jobs", "2", "--only", "dropout")
    midway, _ = kill_at_random_points(command, lambda: rows(tmp_path / "results.sqlite", "runs"), 8, seed=3, tail=0.2)
    assert landed_midway(midway, 8), f"no kill landed mid-sweep (runs stored at each kill: {midway})"
    with sqlite3.connect(tmp_path / "results.sqlite") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        keys = connection.execute("SELECT setting, run FROM runs").fetchall()
    assert len(keys) == len(set(keys)) == 8  # 4 dropout settings × 2 runs
