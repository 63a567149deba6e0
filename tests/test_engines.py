import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from moodmap.core.engines import run_tasks
from moodmap.core.errors import MoodmapError

from helpers import tone, write_audio


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_results_arrive_as_tasks_finish():
    results = dict(run_tasks(nap, [0.3, 0.05, 0.1], jobs=2))
    assert results == {0.3: 0.3, 0.05: 0.05, 0.1: 0.1}


def test_interrupt_does_not_wait_for_long_tasks():
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for task, _ in run_tasks(nap, [0.05, 60.0, 60.0, 60.0], jobs=2):
            raise KeyboardInterrupt
    assert time.monotonic() - began < 20


def die_on_three(x: int) -> int:
    if x == 3:
        os._exit(1)  # the worker process dies, as under kill -9, the OOM killer or a decoder crash
    return 2 * x


def test_a_task_that_kills_its_worker_is_found_retried_and_reported_while_the_rest_finish():
    crashes = []
    results = dict(run_tasks(die_on_three, range(10), jobs=2,
                             on_crash=lambda task, reason: crashes.append((task, reason)) or -1))
    assert results == {**{x: 2 * x for x in range(10)}, 3: -1}
    assert crashes == [(3, "its worker died 3 times")]


def test_a_worker_death_without_a_handler_is_a_clear_error():
    with pytest.raises(MoodmapError, match="worker died"):
        list(run_tasks(die_on_three, [1, 3], jobs=2))


def test_one_job_runs_in_this_process():
    assert list(run_tasks(nap, [0.0], jobs=1)) == [(0.0, 0.0)]


def test_moodmap_errors_survive_pickling_across_processes():
    import pickle

    from moodmap.core.errors import TruncatedAudioError

    error = pickle.loads(pickle.dumps(TruncatedAudioError("/m/a.mp3", "cut short at 12 s")))
    assert type(error) is TruncatedAudioError and (error.path, error.reason) == ("/m/a.mp3", "cut short at 12 s")
    assert str(error) == "/m/a.mp3: cut short at 12 s"


def test_every_batch_job_reports_a_file_in_one_shape():
    from moodmap.core.errors import DecodeError, Failure, crashed

    assert Failure.of("/m/a.mp3", DecodeError("/m/a.mp3", "not audio")) == Failure("/m/a.mp3", "DecodeError", "not audio")
    assert Failure.of("/m/b.mp3", KeyError("x"), "7") == Failure("/m/b.mp3", "UnexpectedError", "KeyError: 'x'", "7")
    assert crashed("/m/c.mp3", "its worker died 3 times") == Failure("/m/c.mp3", "WorkerCrashed",
                                                                     "its worker died 3 times")


def test_a_crashing_file_is_a_failure_in_a_scan(tmp_path, monkeypatch):
    from moodmap.library import scan
    from moodmap.core.errors import Failure

    music = tmp_path / "music"
    music.mkdir()
    for name in ("a.flac", "b.flac"):
        write_audio(music / name, tone(12.0))
    monkeypatch.setattr(scan, "run_tasks", lambda function, tasks, *a, on_crash, **k: (
        (task, on_crash(task, "its worker died 3 times") if task.path.endswith("b.flac") else function(task))
        for task in tasks))
    summary = scan.scan_library(music, tmp_path / "lib.sqlite", jobs=1)
    assert summary.analysed == 1 and summary.failures == [Failure(str(music / "b.flac"), "WorkerCrashed",
                                                                  "its worker died 3 times")]
    with sqlite3.connect(tmp_path / "lib.sqlite") as db:
        assert db.execute("SELECT path, error FROM failures").fetchall() == [(str(music / "b.flac"), "WorkerCrashed")]


DRIVER = """
import os, sys, time
sys.path.insert(0, {tests!r})
from moodmap.core.engines import run_tasks
from moodmap.core.errors import MoodmapError
from test_engines import report_pid_and_sleep
for _ in run_tasks(report_pid_and_sleep, [{folder!r}] * 2, jobs=2):
    pass
"""


def report_pid_and_sleep(folder: str) -> None:
    from pathlib import Path

    Path(folder, str(os.getpid())).touch()
    time.sleep(60)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_workers_end_when_the_driver_is_killed(tmp_path):
    """kill -9 of a batch job leaves no orphaned workers burning the cores."""
    import subprocess

    code = DRIVER.format(tests=str(Path(__file__).parent), folder=str(tmp_path))
    driver = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name) for p in tmp_path.iterdir()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    driver.kill()
    driver.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def always_die(x: int) -> int:
    os._exit(1)


def test_workers_that_die_on_every_task_end_the_run_instead_of_blaming_the_files():
    reported = []
    with pytest.raises(MoodmapError, match="not one bad file but the set-up"):
        list(run_tasks(always_die, range(6), jobs=2, on_crash=lambda task, reason: reported.append(task)))
    assert reported == []  # nothing was recorded as a broken file


def test_a_stopped_pool_has_no_manager_thread_left_to_race_python_exit():
    """stop_pool returns once the pool's manager thread has ended: one still closing its wake-up
    pipe as Python exits printed an "Exception ignored … Bad file descriptor" traceback (CPython
    gh-125451) after a scan stopped by SIGTERM."""
    from moodmap.core.engines import _executor, stop_pool

    pool = _executor(2)
    futures = [pool.submit(time.sleep, 5) for _ in range(4)]
    while not any(f.running() for f in futures):
        time.sleep(0.01)
    manager = pool._executor_manager_thread
    stop_pool(pool)
    assert not manager.is_alive()
