"""docs/research/ray.md's cluster recipe, done as it says on loopback: a head and a second node started as
separate `ray start` processes with an auth token, `moodmap scan` and `prepare` given the
head's address, the second node's raylet killed mid-scan, every Ray process stopped after.
Slow (two Ray nodes start): `make test-slow`."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import RAY_GROUP, free_port

pytest.importorskip("ray", reason="the Ray engine needs moodmap[ray]")
pytestmark = [pytest.mark.slow, pytest.mark.ray, RAY_GROUP]
BIN = Path(sys.executable).parent


def raylets() -> set[int]:
    done = subprocess.run(["pgrep", "-f", "ray/core/src/ray/raylet/raylet"], capture_output=True, text=True)
    return {int(pid) for pid in done.stdout.split()}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Head and second node, token auth, a private HOME (the token file) and temp dir; stopped after."""
    home = tmp_path_factory.mktemp("ray-home")
    temp = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))  # Ray's socket paths must stay short
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}
    ray = str(BIN / "ray")
    subprocess.run([ray, "get-auth-token", "--generate"], env=env, check=True, capture_output=True)
    port = free_port()
    before = raylets()
    try:
        subprocess.run([ray, "start", "--head", "--port", str(port), "--num-cpus", "1", "--temp-dir", str(temp),
                        "--disable-usage-stats"], env=env, check=True, capture_output=True, timeout=120)
        head = raylets() - before
        subprocess.run([ray, "start", "--address", f"127.0.0.1:{port}", "--num-cpus", "1"], env=env, check=True,
                       capture_output=True, timeout=120)
        second = raylets() - before - head
        assert len(head) == len(second) == 1
        wait_for_status(ray, f"127.0.0.1:{port}", env, "2.0 CPU")  # what the recipe says to check
        yield env, f"127.0.0.1:{port}", second.pop()
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=120)
        assert not (raylets() - before), "a raylet this test started is still running"


def wait_for_status(ray: str, address: str, env: dict, shows: str) -> None:
    """`ray status` until it shows ``shows`` (the autoscaler reports a few seconds after `ray start`)."""
    for _ in range(60):
        status = subprocess.run([ray, "status", "--address", address], env=env, capture_output=True, text=True,
                                timeout=60)
        if status.returncode == 0 and shows in status.stdout:
            return
        time.sleep(1)
    raise AssertionError(f"ray status never showed {shows!r}: {status.stdout}{status.stderr}")


def moodmap(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "moodmap"), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def analysed(db: Path) -> int:
    """How many songs the index holds so far (0 before the scan has made it)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM songs").fetchone()[0]
    except sqlite3.OperationalError:  # made, its tables not yet
        return 0


def rows(db: Path) -> dict[str, tuple[float, float]]:
    with sqlite3.connect(db) as connection:
        return {Path(p).name: (v, a) for p, v, a in connection.execute("SELECT path, valence, arousal FROM songs")}


def test_scan_on_two_nodes_survives_losing_one_and_equals_the_local_engine(cluster, synth_set, tmp_path):
    env, address, second_raylet = cluster
    clips = synth_set / "clips_45seconds"
    moodmap("scan", str(clips), "--db", "local.sqlite", cwd=tmp_path, env=env)
    scan = subprocess.Popen([str(BIN / "moodmap"), "scan", str(clips), "--db", "ray.sqlite", "--engine", "ray",
                             "--address", address], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and scan.poll() is None and not analysed(tmp_path / "ray.sqlite"):
        time.sleep(0.05)
    # the first songs are in: tasks are running on both nodes (one CPU each), and most are still to come
    done_before = analysed(tmp_path / "ray.sqlite")
    assert scan.poll() is None and done_before < 12, "the scan ended before the node was lost: nothing was tested"
    os.kill(second_raylet, signal.SIGKILL)  # the second machine is gone
    out, err = scan.communicate(timeout=600)
    assert scan.returncode == 0, out + err
    local, on_ray = rows(tmp_path / "local.sqlite"), rows(tmp_path / "ray.sqlite")
    assert len(on_ray) == 12 and on_ray.keys() == local.keys()
    with sqlite3.connect(tmp_path / "ray.sqlite") as connection:
        assert connection.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM songs").fetchone() == (12, 12)
    assert all(np.allclose(on_ray[name], local[name], atol=1e-6) for name in local)


def test_prepare_given_the_heads_address_gives_the_local_features(cluster, synth_set, tmp_path):
    from moodmap.research.cache import FeatureCache

    env, address, _ = cluster  # one node now (its peer was killed above) or two: the result is the same
    moodmap("prepare", str(synth_set), "--out", "local", "--jobs", "2", cwd=tmp_path, env=env)
    moodmap("prepare", str(synth_set), "--out", "ray", "--engine", "ray", "--address", address, cwd=tmp_path, env=env)
    local, on_ray = FeatureCache.open(tmp_path / "local"), FeatureCache.open(tmp_path / "ray")
    order = lambda c: np.lexsort((c.excerpt, c.song_ids))  # noqa: E731
    assert np.array_equal(np.asarray(local.features)[order(local)], np.asarray(on_ray.features)[order(on_ray)])


def test_a_driver_without_the_token_is_told_what_to_check(cluster, synth_set, tmp_path):
    env, address, _ = cluster
    stranger = {**env, "HOME": str(tmp_path)}  # no ~/.ray/auth_token here
    done = subprocess.run([str(BIN / "moodmap"), "scan", str(synth_set / "clips_45seconds"), "--db", "x.sqlite",
                           "--engine", "ray", "--address", address], env=stranger, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    errors = [line for line in done.stderr.splitlines() if line.startswith("moodmap: ") and "note:" not in line]
    assert done.returncode == 2 and len(errors) == 1, done.stderr
    assert "auth token" in errors[0] and address in errors[0]
