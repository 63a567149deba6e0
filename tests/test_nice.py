"""Gentle on a shared machine: ``scan --nice`` runs the scan and its worker processes at nice 19 in
the idle I/O class, and ``scan --watch`` leaves a core free by default. Both are watched from
outside, as a user would with ps / ionice: the installed CLI runs in a subprocess and the test
reads its process tree in /proc while it works."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import tone, write_audio
from moodmap.core.priority import IOPRIO_CLASS_IDLE, NICEST, io_class

MOODMAP = str(Path(sys.executable).parent / "moodmap")
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes in /proc (Linux)")


def two_songs(folder: Path) -> Path:
    music = folder / "music"
    music.mkdir()
    for i, freqs in enumerate([(220.0, 277.2, 329.6), (196.0, 233.1, 293.7)]):
        write_audio(music / f"song {i}.wav", tone(6.0, 16000, freqs=freqs), 16000)
    return music


def family(root: int) -> dict[int, tuple[str, int, int | None]]:
    """``root`` and every process below it: pid → (command line, nice, I/O class); ``root``'s nice is
    the least nice of its threads (each has its own)."""
    parents, seen = {}, {}
    for name in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{name}/stat").read_text() if name.isdigit() else ""
        except OSError:  # ended meanwhile
            continue
        if stat:
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(name)] = (int(fields[1]), int(fields[16]))  # ppid, nice (stat fields 4 and 19)
    wanted = {root}
    for _ in range(4):  # workers are children, their resource tracker a grandchild at most
        wanted |= {pid for pid, (ppid, _) in parents.items() if ppid in wanted}
    for pid in wanted & set(parents):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        seen[pid] = (command, threads_nice(pid, parents[pid][1]) if pid == root else parents[pid][1], io_class(pid))
    return seen


def threads_nice(pid: int, process: int) -> int:
    """The lowest nice value among ``pid``'s threads (``process``: its main thread's)."""
    values = []
    for task in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            values.append(int(task.read_text().rsplit(")", 1)[1].split()[16]))
        except (OSError, IndexError):
            continue
    return min(values, default=process)


def watch_run(args: list[str], cwd: Path, until: str | None = None, cpus: set[int] | None = None):
    """Run the CLI, reading its process tree every 20 ms; stop it (SIGTERM, as systemd does) once
    its output shows ``until``. Returns (output, {pid: (command, nice, io class)} of all seen)."""
    out = cwd / "out.txt"
    with open(out, "w") as handle:
        process = subprocess.Popen([MOODMAP, *args], cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                   preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    seen: dict[int, tuple[str, int, int | None]] = {}
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        for pid, facts in family(process.pid).items():
            # a child keeps its first glimpse's priorities (set before any work?) and the most telling
            # command: between fork and exec a spawned worker still shows the scan's, and once it has
            # exited, none
            if pid in seen and pid != process.pid:
                command = seen[pid][0]
                seen[pid] = (command if "spawn_main" in command else facts[0] or command, *seen[pid][1:])
            else:
                seen[pid] = facts
        if until and until in out.read_text():
            process.send_signal(signal.SIGTERM)
            until = None
        time.sleep(0.02)
    process.kill() if process.poll() is None else None
    process.wait(timeout=30)
    return out.read_text(), seen


def workers(seen: dict) -> dict:
    """The scan's spawned worker processes among ``seen`` (not multiprocessing's resource tracker)."""
    return {pid: facts for pid, facts in seen.items() if "spawn_main" in facts[0]}


def test_scan_nice_runs_the_scan_and_its_workers_at_the_lowest_cpu_and_idle_io_priority(tmp_path):
    if os.getpriority(os.PRIO_PROCESS, 0) >= NICEST:
        pytest.skip("the tests already run at nice 19: nothing could be lowered")
    two_songs(tmp_path)
    output, seen = watch_run(["scan", "music", "--db", "lib.sqlite", "--jobs", "2", "--nice"], tmp_path)
    assert "2 analysed" in output, output
    assert workers(seen), f"no worker process seen: {seen}"
    readable = io_class(os.getpid()) is not None  # False: a machine whose ioprio calls moodmap does not know
    # the scan itself, its workers, their resource tracker; a process glimpsed with no command line
    # (already exited, or not yet exec'd) says nothing about what ran (seen once, under heavy load)
    for command, nice, io in (facts for facts in seen.values() if facts[0]):
        assert nice == NICEST, (command, nice)
        assert io == IOPRIO_CLASS_IDLE or not readable, (command, io)


def test_scan_without_nice_keeps_the_priority_it_was_started_with(tmp_path):
    two_songs(tmp_path)
    output, seen = watch_run(["scan", "music", "--db", "lib.sqlite", "--jobs", "2"], tmp_path)
    assert "2 analysed" in output, output
    assert workers(seen) and {nice for _, nice, _ in seen.values()} == {os.getpriority(os.PRIO_PROCESS, 0)}


def test_watch_leaves_a_core_free_by_default(tmp_path):
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        pytest.skip("needs two cores")
    two_songs(tmp_path)
    output, seen = watch_run(["scan", "music", "--db", "lib.sqlite", "--watch"], tmp_path, until="analysed",
                             cpus=set(cpus))
    assert "2 analysed" in output, output
    assert not workers(seen), "on two cores a watcher analyses in one process (a core left free)"


def test_watch_nice_runs_the_watcher_and_its_threads_at_the_lowest_cpu_priority(tmp_path):
    if os.getpriority(os.PRIO_PROCESS, 0) >= NICEST:
        pytest.skip("the tests already run at nice 19: nothing could be lowered")
    two_songs(tmp_path)
    output, seen = watch_run(["scan", "music", "--db", "lib.sqlite", "--watch", "--nice"], tmp_path,
                             until="analysed")
    assert "2 analysed" in output, output
    assert seen and all(nice == NICEST for _, nice, _ in seen.values()), seen  # the watcher's threads included
