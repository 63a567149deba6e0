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

from moodmap.audio_payload import audio_digest

KILLS = int(os.environ.get("MOODMAP_KILLS", "3"))  # `make stress` raises it


def moodmap(*args: str) -> list[str]:
    return [sys.executable, "-m", "moodmap.cli", *args]


def run_and_kill(command: list[str], when, delay: float = 0.0, timeout: float = 300) -> bool:
    """Start ``command``; once ``when()`` holds, wait ``delay`` s and SIGKILL its whole process
    group (workers included). True when the kill landed, False when the job ended first."""
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while victim.poll() is None and not when():
        assert time.monotonic() < deadline, f"{command} neither progressed nor ended"
        time.sleep(0.02)
    time.sleep(delay)
    if victim.poll() is not None:
        return False
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    return True


def kill_at_random_points(command: list[str], count, total: int, seed: int, tail: float = 0.5) -> list:
    """Kill ``command`` once after a random number of its ``total`` items are done (as ``count()``
    tells) on each of ``KILLS - 1`` runs, once more a random moment after all are done (the
    finishing phase: consolidation, tag writing), then run it to the end. Returns what landed."""
    rng = np.random.default_rng(seed)
    landed = []
    for _ in range(KILLS - 1):
        done = count()
        if done >= total - 1:
            break
        target = int(rng.integers(done + 1, total))
        landed.append(run_and_kill(command, lambda: count() >= target))
    landed.append(run_and_kill(command, lambda: count() >= total, delay=float(rng.uniform(0, tail))))
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    return landed


def rows(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(db, timeout=0.1) as connection:
            return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return 0


def no_temporaries(folder: Path) -> list[Path]:
    from moodmap.atomic import TEMP_SUFFIX

    return [p for p in folder.rglob(f"*{TEMP_SUFFIX}")]


def test_prepare_killed_again_and_again_ends_with_the_clean_cache(synth_set, synth_cache, tmp_path):
    from moodmap.cache import FeatureCache

    command = moodmap("prepare", str(synth_set), "--out", str(tmp_path), "--jobs", "2")
    landed = kill_at_random_points(command, lambda: len(list(tmp_path.glob("*/shards/*.npz"))), 12, seed=1, tail=0.3)
    assert any(landed), "no kill landed: the job finished first every time"
    cache, clean = FeatureCache.open(tmp_path), FeatureCache.open(synth_cache)
    assert sorted(zip(cache.song_ids, cache.excerpt)) == sorted(zip(clean.song_ids, clean.excerpt))
    order, clean_order = np.lexsort((cache.excerpt, cache.song_ids)), np.lexsort((clean.excerpt, clean.song_ids))
    np.testing.assert_allclose(np.array(cache.features)[order], np.array(clean.features)[clean_order], atol=1e-4)
    assert not no_temporaries(tmp_path)


def test_scan_with_tag_writing_killed_again_and_again_loses_nothing(synth_set, tmp_path):
    from moodmap.tags import read_mood_tags

    folder = tmp_path / "music"
    shutil.copytree(synth_set / "clips_45seconds", folder)
    before = {p.name: audio_digest(p) for p in folder.glob("*.flac")}
    db = tmp_path / "library.sqlite"
    command = moodmap("scan", str(folder), "--db", str(db), "--write-tags", "--jobs", "2")
    landed = kill_at_random_points(command, lambda: rows(db, "songs"), len(before), seed=2, tail=0.8)
    assert any(landed), "no kill landed: the job finished first every time"
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


def test_sweep_killed_again_and_again_stores_every_run_once(synth_cache, tmp_path):
    command = moodmap("sweep", "paper", str(synth_cache), "--out", str(tmp_path), "--runs", "2", "--epochs", "1",
                      "--jobs", "2", "--only", "dropout")
    landed = kill_at_random_points(command, lambda: rows(tmp_path / "results.sqlite", "runs"), 8, seed=3, tail=0.2)
    assert any(landed), "no kill landed: the job finished first every time"
    with sqlite3.connect(tmp_path / "results.sqlite") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        keys = connection.execute("SELECT setting, run FROM runs").fetchall()
    assert len(keys) == len(set(keys)) == 8  # 4 dropout settings × 2 runs
