"""The Ray engine: ``run_tasks`` over a Ray cluster (``moodmap[ray]``; ``--engine ray``).

The driver submits batches of tasks as Ray tasks (one CPU each), keeps at most a
window of them in flight (back-pressure: a 50 000-file scan never holds 50 000
futures or results) and yields each task's result as its batch returns, so the caller
stores it at once — in the same cache, library DB or results store as the local
engine, which is why a run started with one engine can be resumed with the other.

Faults: a batch whose worker dies (killed, out of memory, node lost) is retried by
Ray on any worker, ``retries`` times; a batch that still fails is split and its tasks
run alone, so one file that kills its worker cannot take its neighbours down with it;
a task that fails alone too is handed to ``on_crash`` (reported, not fatal) or, with no
``on_crash``, ends the run with a clear error. A Python exception raised by the task
function is not a fault: it is raised in the driver, as with the local engine.

Examples
--------
>>> from moodmap.core.ray_engine import batches
>>> [len(b) for b in batches(range(10), 4)]
[4, 4, 2]
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .errors import MoodmapError, one_line, parameter

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "the Ray engine needs Ray: pip install 'moodmap[ray]'"


def run_ray_tasks(function: Callable[[T], R], tasks: Iterable[T], jobs: int | None, address: str | None,
                  batch: int = 1, on_crash: Callable[[T, str], R] | None = None,
                  thread_variables: tuple[str, ...] = (), *, retries: int) -> Iterator[tuple[T, R]]:
    """Yield ``(task, function(task))`` as batches finish on Ray workers, a task whose worker
    died retried ``retries`` times (engines.run_tasks passes its RETRIES); see the module notes."""
    ray = _import_ray()
    with ray_session(address, jobs, thread_variables):
        remote = ray.remote(_run_batch).options(num_cpus=1, max_retries=retries, retry_exceptions=False)
        window = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending: dict[Any, list[T]] = {}
        retry_alone: list[list[T]] = []
        iterator = batches(tasks, batch)
        try:
            while True:
                while len(pending) < window:
                    chunk = retry_alone.pop() if retry_alone else next(iterator, None)
                    if chunk is None:
                        break
                    pending[remote.remote(function, chunk)] = chunk
                if not pending:
                    return
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                chunk = pending.pop(ref)
                yield from _collect(ray, ref, chunk, on_crash, retry_alone, retries)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise


def _collect(ray, ref, chunk: list, on_crash, retry_alone: list[list], retries: int) -> Iterator[tuple[Any, Any]]:
    """The finished batch's results; a batch whose workers kept dying is split, or reported when alone."""
    try:
        results = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:  # the task function raised: the caller's error, not a fault
        raise exc.as_instanceof_cause() from None
    except ray.exceptions.RayError as exc:
        if len(chunk) > 1:
            retry_alone.extend([task] for task in chunk)
            return
        reason = f"its worker died {retries + 1} times ({type(exc).__name__})"
        if on_crash is None:
            raise MoodmapError(None, f"a task could not be run: {reason}") from None
        yield chunk[0], on_crash(chunk[0], reason)
        return
    yield from zip(chunk, results)


def _run_batch(function: Callable[[T], R], chunk: list[T]) -> list[R]:
    """On a Ray worker: one batch of tasks, in order."""
    return [function(task) for task in chunk]


def batches(tasks: Iterable[T], size: int) -> Iterator[list[T]]:
    """``tasks`` in lists of ``size`` (the last shorter), read lazily."""
    chunk: list[T] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextlib.contextmanager
def ray_session(address: str | None, jobs: int | None, thread_variables: tuple[str, ...] = ()) -> Iterator[None]:
    """Ray, ready: the session already open in this process, or a new one that ends with the block.

    ``address`` None starts a private Ray on this machine with ``jobs`` CPUs; ``auto``
    joins the cluster started here with ``ray start``; ``ray://host:10001`` a remote one.
    Workers get single-threaded BLAS, as the local engine's do.
    """
    ray = _import_ray()
    if ray.is_initialized():
        yield
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home from a closed network
    options: dict[str, Any] = {"address": address or "local", "include_dashboard": False,
                               "logging_level": logging.ERROR,
                               "runtime_env": {"env_vars": {name: "1" for name in thread_variables}}}
    if address is None:
        options["num_cpus"] = jobs or os.cpu_count() or 1
    else:
        _check_reachable(address)
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        raise MoodmapError(None, _cannot_join(ray, address, exc)) from None
    try:
        yield
    finally:
        ray.shutdown()


CONNECT_SECONDS = 5


def _check_reachable(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at a HOST:PORT address (Ray would retry for long)."""
    if address == "auto":
        return
    host_port = address.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise MoodmapError(None, f"{parameter('address')} {address!r}: give auto, HOST:PORT (what `ray start --head` "
                                 "printed) or ray://HOST:10001")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise MoodmapError(None, f"nothing answers at {host_port} ({exc.strerror or exc}): is `ray start --head` "
                                 "running there, and is this the address it printed (port 6379 by default; "
                                 "10001 for ray://)?") from None


def _cannot_join(ray, address: str | None, exc: BaseException) -> str:
    """One line: why Ray could not be started or joined, and what to check."""
    text = one_line(exc)
    first = text.split(". ")[0][:200]
    if address is None:
        return f"cannot start a private Ray on this machine: {first}"
    if "could not find any running ray instance" in text.lower():
        return (f"no Ray cluster runs on this machine for {parameter('address')} {address}: start one with "
                "`ray start --head` (docs/research/ray.md), or give the head's HOST:PORT")
    if "version mismatch" in text.lower():
        return (f"cannot join the Ray cluster at {address}: {first} — install the cluster's Ray version here "
                f"(this machine has {ray.__version__}), or the reverse")
    return (f"cannot join the Ray cluster at {address}: {first} — check that this machine has the cluster's auth "
            "token (~/.ray/auth_token, RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN; docs/research/ray.md), that the address "
            f"is the one `ray start --head` printed (on the head: auto), and that both run Ray {ray.__version__}")


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MoodmapError(None, INSTALL_HINT) from None
    return ray
