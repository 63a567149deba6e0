"""train, compare and sweep share one resumable loop, so all three handle a dead worker and Ctrl-C
the same way: nothing finished is lost, a rerun does only the rest, the command says so."""
from __future__ import annotations


import pytest
from typer.testing import CliRunner

import moodmap.research.run_loop as run_loop
from moodmap.cli import app
from moodmap.research.compare import Protocol, compare_models
from moodmap.core.config import ModelConfig, TrainConfig
from moodmap.core.engines import run_tasks
from moodmap.core.errors import Interrupted, MoodmapError
from moodmap.research.train import train_runs

SMALL = ModelConfig(filters=4)
QUICK = TrainConfig(epochs=1, batch_size=8)


def dying_on(condition):
    """run_tasks, in this process, where a task meeting ``condition`` loses its worker every time."""
    def fake(function, tasks, jobs=None, *, on_crash, **options):
        for task in tasks:
            yield task, (on_crash(task, "its worker died 3 times") if condition(task) else function(task))
    return fake


def interrupted_after(count: int):
    """run_tasks, in this process, where Ctrl-C arrives after ``count`` tasks finished."""
    def fake(function, tasks, jobs=None, **options):
        for i, task in enumerate(tasks):
            if i == count:
                raise KeyboardInterrupt
            yield task, function(task)
    return fake


def test_a_training_run_whose_worker_keeps_dying_is_left_for_a_rerun(synth_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(run_loop, "run_tasks", dying_on(lambda task: task.run == 1))
    summary = train_runs(synth_cache, SMALL, QUICK, 3, tmp_path / "run")
    assert summary["missing_runs"] == [1] and summary["protocol"]["runs"] == 2
    monkeypatch.setattr(run_loop, "run_tasks", run_tasks)
    again = train_runs(synth_cache, SMALL, QUICK, 3, tmp_path / "run")
    assert "missing_runs" not in again and again["protocol"]["runs"] == 3


def test_train_on_the_command_line_names_the_missing_run(synth_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(run_loop, "run_tasks", dying_on(lambda task: task.run == 0))
    result = CliRunner().invoke(app, ["train", str(synth_cache), "--out", str(tmp_path / "run"), "--runs", "2",
                                      "--epochs", "1", "--set", "filters=4"])
    assert result.exit_code == 0, result.output
    assert "runs 0 lost their worker every time" in result.output


def test_ctrl_c_during_training_keeps_the_finished_runs_and_says_how_to_resume(synth_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(run_loop, "run_tasks", interrupted_after(1))
    with pytest.raises(Interrupted):
        train_runs(synth_cache, SMALL, QUICK, 3, tmp_path / "lib")
    assert (tmp_path / "lib" / "run-0" / "result.json").exists() and not (tmp_path / "lib" / "summary.json").exists()
    result = CliRunner().invoke(app, ["train", str(synth_cache), "--out", str(tmp_path / "cli"), "--runs", "3",
                                      "--epochs", "1", "--set", "filters=4"])
    assert result.exit_code == 130
    assert "interrupted; finished runs are saved, rerun the same command to resume" in result.output
    monkeypatch.setattr(run_loop, "run_tasks", run_tasks)
    stamp = (tmp_path / "lib" / "run-0" / "result.json").stat().st_mtime_ns
    assert train_runs(synth_cache, SMALL, QUICK, 3, tmp_path / "lib")["protocol"]["runs"] == 3
    assert (tmp_path / "lib" / "run-0" / "result.json").stat().st_mtime_ns == stamp  # not trained again


def test_compare_with_a_dead_worker_saves_the_rest_and_finishes_on_rerun(synth_cache, tmp_path, monkeypatch):
    protocol = Protocol(runs=2, epochs=1)
    monkeypatch.setattr(run_loop, "run_tasks", dying_on(lambda task: task.run == 1 and "improved" in task.out))
    with pytest.raises(MoodmapError, match="1 of 4 trainings lost their worker .* rerun the same command"):
        compare_models(synth_cache, ["paper", "improved"], tmp_path / "cmp", protocol)
    assert len(list((tmp_path / "cmp").glob("*/run-*/result.json"))) == 3
    trained = []
    monkeypatch.setattr(run_loop, "run_tasks", lambda f, tasks, *a, **k: run_tasks(f, trained.extend(tasks) or tasks,
                                                                                    *a, **k))
    report = compare_models(synth_cache, ["paper", "improved"], tmp_path / "cmp", protocol)
    assert [t.run for t in trained] == [1] and "improved" in trained[0].out
    assert len(report["predictors"]["improved"]["song"]["valence"]["mae"]["runs"]) == 2
    assert (tmp_path / "cmp" / "compare.json").exists()
