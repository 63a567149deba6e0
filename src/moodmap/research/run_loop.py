"""The one loop that runs what is missing of a resumable job: training runs, compare, the sweep.

The caller works out which tasks are not done yet and how to store a result; the loop
runs them on the chosen engine, stores each result as it arrives (so a Ctrl-C or a kill
loses only the runs in flight), reports progress counted from what was done before,
and leaves a task whose worker process keeps dying for the next rerun instead of
failing the job.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..core.engines import LOCAL, Engine, run_tasks
from ..core.errors import Interrupted

T = TypeVar("T")
R = TypeVar("R")

_CRASHED = object()  # what a task whose worker kept dying yields: nothing to store


@dataclass
class LoopOutcome:
    """What one pass of the loop did."""

    finished: int = 0
    crashed: list[Any] = field(default_factory=list)  # workers died every time: nothing stored, a rerun retries
    interrupted: bool = False  # Ctrl-C: what finished is stored


def run_missing(function: Callable[[T], R], todo: Sequence[T], total: int, store: Callable[[T, R], None],
                jobs: int | None = None, progress: Callable[[int, int], None] | None = None,
                engine: Engine = LOCAL) -> LoopOutcome:
    """Run ``todo`` (the tasks of ``total`` not done yet), ``store`` each result as it comes.

    Each task gets its own core (``pin``); on Ray, one CPU each. Ctrl-C stops the loop with
    ``interrupted`` set, after storing every result that had arrived.
    """
    outcome = LoopOutcome()
    before = total - len(todo)
    if progress:
        progress(before, total)
    try:
        for task, result in run_tasks(function, todo, jobs, pin=True, engine=engine, on_crash=_left_for_rerun):
            if result is _CRASHED:
                outcome.crashed.append(task)
                continue
            store(task, result)
            outcome.finished += 1
            if progress:
                progress(before + outcome.finished, total)
    except KeyboardInterrupt:
        outcome.interrupted = True
    return outcome


def threads_per_task(jobs: int | None, engine: Engine = LOCAL) -> int:
    """A task's own threads: 1 when tasks share the machine (several local jobs, or Ray's one CPU
    each), else 0 (torch's default: every core for the one task)."""
    return 1 if (jobs or 1) > 1 or engine.name != "local" else 0


def stop_if_interrupted(outcome: LoopOutcome) -> None:
    """Raise ``Interrupted`` (exit 130 on the command line) when Ctrl-C ended the loop."""
    if outcome.interrupted:
        raise Interrupted(None, "interrupted; finished runs are saved, rerun the same command to resume")


def _left_for_rerun(task: Any, reason: str) -> object:
    return _CRASHED
