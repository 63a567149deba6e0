import time

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
