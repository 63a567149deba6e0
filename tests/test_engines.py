import os
import sys
import time
from pathlib import Path

import pytest

from moodmap.engines import run_tasks


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


def test_one_job_runs_in_this_process():
    assert list(run_tasks(nap, [0.0], jobs=1)) == [(0.0, 0.0)]


def test_moodmap_errors_survive_pickling_across_processes():
    import pickle

    from moodmap.errors import TruncatedAudioError

    error = pickle.loads(pickle.dumps(TruncatedAudioError("/m/a.mp3", "cut short at 12 s")))
    assert type(error) is TruncatedAudioError and (error.path, error.reason) == ("/m/a.mp3", "cut short at 12 s")
    assert str(error) == "/m/a.mp3: cut short at 12 s"


DRIVER = """
import os, sys, time
sys.path.insert(0, {tests!r})
from moodmap.engines import run_tasks
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
