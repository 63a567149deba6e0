"""Where work runs: a local process pool (the default) or a Ray cluster, behind one call.

``run_tasks`` maps a picklable function over tasks and yields ``(task, result)`` as
each finishes, so callers can store results immediately and a Ctrl-C loses only
what was still running. Local workers are spawned with single-threaded BLAS (two
workers on two cores, not two × N threads) and ignore SIGINT, so the parent decides how
to stop. ``Engine("ray", address)`` sends the same tasks to Ray (``moodmap.core.ray_engine``);
results still come back to this process, which alone writes the cache, the library
DB or the results store — so either engine can resume the other's run.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import ConfigError, MoodmapError, parameter

T = TypeVar("T")
R = TypeVar("R")

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


ENGINES = ("local", "ray")
RETRIES = 2  # reruns of a task whose worker died, before it is reported (both engines)


@dataclass(frozen=True)
class Engine:
    """Which engine runs the work: ``local`` (process pool) or ``ray`` (``address``: None starts
    a private Ray here, ``auto`` joins the cluster ``ray start`` made, ``ray://host:10001`` a remote one)."""

    name: str = "local"
    address: str | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ConfigError(None, f"unknown engine {self.name!r}; choose one of {', '.join(ENGINES)}")
        if self.address and self.name != "ray":
            raise ConfigError(None, f"{parameter('address')} is for {parameter('engine')} ray")


LOCAL = Engine()


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_tasks(function: Callable[[T], R], tasks: Iterable[T], jobs: int | None = None,
              window: int | None = None, pin: bool = False, engine: Engine = LOCAL, batch: int = 1,
              on_crash: Callable[[T, str], R] | None = None) -> Iterator[tuple[T, R]]:
    """Yield ``(task, function(task))`` as tasks finish, in ``jobs`` worker processes.

    ``jobs=1`` runs in this process (no pickling, easiest to debug). At most
    ``window`` tasks are in flight, so a million-file job never queues a million futures.
    ``pin`` gives each worker its own core (Linux), so two compute-bound workers do not
    migrate between cores and thrash each other's caches.
    A task whose worker process keeps dying (a decoder crash, the OOM killer, kill -9) is
    retried ``RETRIES`` times, alone, then becomes ``on_crash(task, reason)``: reported, not
    fatal (without ``on_crash``, a MoodmapError). With the Ray engine, ``jobs`` is the CPU
    count of a Ray started here and tasks travel in lists of ``batch``.
    """
    if engine.name == "ray":
        from .ray_engine import run_ray_tasks

        yield from run_ray_tasks(function, tasks, jobs, engine.address, batch, on_crash, THREAD_VARIABLES,
                                 retries=RETRIES)
        return
    jobs = jobs or default_jobs()
    if jobs <= 1:
        for task in tasks:
            with native_stderr_silenced():  # as a worker's is; not while the caller reports (between tasks)
                result = function(task)
            yield task, result
        return
    window = window or jobs * 4
    with _pool_environment():  # kept while the pool lives: workers are spawned on demand
        workers = _Workers(jobs, pin)
        try:
            yield from _run_pool(workers, function, tasks, window, on_crash)
        except BaseException:
            stop_pool(workers.pool)  # Ctrl-C: do not wait minutes for runs in flight; finished work is saved
            raise
        workers.pool.shutdown(wait=True)


class _Workers:
    """The batch pool, replaced when a worker dies (one dead worker breaks the whole executor)."""

    def __init__(self, jobs: int, pin: bool) -> None:
        self.jobs, self.pin = jobs, pin
        self.pool = _executor(jobs, pin, tied=True)

    def replace(self) -> None:
        stop_pool(self.pool)
        self.pool = _executor(self.jobs, self.pin, tied=True)


_END = object()


def _run_pool(workers: _Workers, function: Callable, tasks: Iterable, window: int,
              on_crash: Callable | None) -> Iterator[tuple[Any, Any]]:
    """Keep ``window`` tasks in flight and yield results as they come. After a worker death
    every task that was in flight is a suspect, rerun alone on a fresh pool, so a file that
    kills its worker is found, retried ``RETRIES`` times and then reported, and its
    neighbours finish. Deaths that no file explains — workers dying again and again with
    nothing finished in between, or before any task ever finished — end the run with an
    error instead, so a broken set-up is never recorded as thousands of broken files."""
    queue = iter(tasks)
    suspects: list[tuple[Any, int]] = []  # (task, deaths): each reruns alone
    crashed: list[tuple[Any, str]] = []  # (task, reason): out of retries, for on_crash
    pending: dict[Future, tuple[Any, int]] = {}
    finished = streak = 0
    while True:
        _fill(workers.pool, function, queue, suspects, pending, window)
        if not pending:
            break
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        dead = []
        for future in done:
            task, deaths = pending.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                dead.append((task, deaths))
                continue
            finished, streak = finished + 1, 0
            yield task, result
        if dead:
            dead += [pending.pop(future) for future in list(pending)]  # they die with the pool
            streak += 1
            if streak > SYSTEMIC_DEATHS:
                raise _systemic(streak)
            workers.replace()
            crashed += _suspects(dead, suspects, on_crash)
        if crashed and finished:
            assert on_crash is not None  # _suspects raises instead of returning a crash nobody handles
            yield from ((task, on_crash(task, reason)) for task, reason in crashed)
            crashed = []
    if crashed:  # workers died on every task this run tried: not the files' fault
        raise _systemic(len(crashed) * (RETRIES + 1))


SYSTEMIC_DEATHS = 4 * (RETRIES + 2)  # a few poison files in a row at most; beyond that, the set-up


def _systemic(deaths: int) -> MoodmapError:
    return MoodmapError(None, f"worker processes died {deaths} times without finishing a task: not one bad file "
                              "but the set-up (out of memory? workers that cannot start?); nothing was recorded "
                              "for the files still to do; --jobs 1 shows the error in this process")


def _fill(pool: ProcessPoolExecutor, function: Callable, queue: Iterator, suspects: list, pending: dict,
          window: int) -> None:
    """Top up the tasks in flight; a suspect only ever runs alone, so its death names it."""
    if suspects:
        if not pending:
            task, deaths = suspects.pop(0)
            pending[pool.submit(function, task)] = (task, deaths)
        return
    while len(pending) < window and (task := next(queue, _END)) is not _END:
        pending[pool.submit(function, task)] = (task, 0)


def _suspects(dead: list[tuple[Any, int]], suspects: list, on_crash: Callable | None) -> list[tuple[Any, str]]:
    """Count a death against a task that was alone; queue the rest again; return the ones out
    of retries with the reason (an error at once when nobody handles them)."""
    out = []
    for task, deaths in dead:
        deaths += len(dead) == 1
        if deaths <= RETRIES:
            suspects.append((task, deaths))
            continue
        reason = f"its worker died {deaths} times"
        if on_crash is None:
            raise MoodmapError(None, f"a task could not be run: {reason}")
        out.append((task, reason))
    return out


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A long-lived pool for a server: ``jobs`` spawned, single-threaded workers, started now.

    The caller stops it (``stop_pool``). Workers start at once (while the thread settings
    are in the environment) so the first request does not pay for process start-up, and
    from the calling thread, which must live as long as the server: they die with it, so
    a server that is killed leaves no workers behind.
    """
    with _pool_environment():
        pool = _executor(jobs, tied=True)
        try:
            for future in [pool.submit(os.getpid) for _ in range(jobs)]:
                future.result()
        except BaseException:  # Ctrl-C while the workers start: end them, or the exit waits for them
            stop_pool(pool)
            raise
    return pool


def _executor(jobs: int, pin: bool = False, tied: bool = False) -> ProcessPoolExecutor:
    """Spawned workers that ignore Ctrl-C, each on its own core when ``pin``, ending with
    this process when ``tied``."""
    context = multiprocessing.get_context("spawn")
    cores = sorted(os.sched_getaffinity(0)) if pin and hasattr(os, "sched_getaffinity") else []
    counter = context.Value("i", 0) if cores else None
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                               initargs=(counter, cores, os.getpid() if tied else None))


@contextlib.contextmanager
def _pool_environment() -> Iterator[None]:
    """Single-threaded BLAS settings in the environment, for workers spawned meanwhile."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued tasks and end the workers at once (their unfinished tasks are redone on rerun).

    The pool's manager thread is waited for too: a first ``shutdown(wait=False)`` forgets it, and
    one still closing its wake-up pipe as Python exits met exit's own wake-up call on that pipe
    (CPython before 3.12.8, gh-125451): "Exception ignored … OSError: Bad file descriptor" after
    a SIGTERM'd scan had said it stopped cleanly."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)
    if manager is not None:
        manager.join(timeout=10)
    pool.shutdown(wait=True)  # its manager thread closes the queues: no "leaked semaphore" warning at exit


def _start_worker(counter, cores: list[int], parent: int | None) -> None:
    """Ignore Ctrl-C (the parent decides how to stop); die with ``parent`` when given; take the
    next core when pinning."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.environ.get("MOODMAP_DEBUG", "") in ("", "0"):
        _silence_native_stderr()
    if parent is not None:
        _die_with_parent(parent)
    if counter is not None and cores:
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        os.sched_setaffinity(0, {cores[index % len(cores)]})


def _silence_native_stderr() -> None:
    """Decoders' C libraries (mpg123 inside libsndfile) print notes about damaged files straight
    to file descriptor 2 ("Note: Illegal Audio-MPEG-Header …"). The parent reports every task's
    outcome, so in a worker that output is only noise on the user's terminal and in cron mail;
    MOODMAP_DEBUG=1 keeps it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """What ``_silence_native_stderr`` does for a worker, for work done in this process (``--jobs 1``,
    ``predict``): file descriptor 2 goes to /dev/null while it runs and comes back after, so the
    decoders' notes stay off the terminal but moodmap's own lines do not; MOODMAP_DEBUG=1 keeps them."""
    if os.environ.get("MOODMAP_DEBUG", "") not in ("", "0"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        _silence_native_stderr()
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> bool:
    """Linux: have the kernel send SIGTERM when the parent dies, so a killed driver (kill,
    OOM killer) leaves no orphaned workers training on; False where unsupported.

    The kernel ties this to the *thread* that started the worker: batch pools are started
    and drained by one thread, the server's pool by its main thread.
    """
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        ok = ctypes.CDLL(name).prctl(PR_SET_PDEATHSIG, signal.SIGTERM) == 0
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    return ok
