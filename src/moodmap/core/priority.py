"""Gentle on a shared machine: the lowest CPU priority and the idle I/O class (``scan --nice``).

Both are per thread on Linux and inherited by every thread and process started afterwards, so
``be_nice()`` is called first thing in a command: the scan's worker processes, a private Ray's
processes and the watcher's threads all run at the priority it set. Where a part is not
available (the I/O class outside Linux, or on a kernel architecture this module does not know),
it is left as it was, silently: ``--nice`` then lowers what it can.
"""
from __future__ import annotations

import ctypes
import functools
import os
import platform

NICEST = 19  # the lowest CPU priority a process can have (as `nice -n 19`)
IOPRIO_CLASS_IDLE = 3  # disk time only when no other process wants the disk (as `ionice -c 3`)
IOPRIO_CLASS_SHIFT = 13
IOPRIO_WHO_PROCESS = 1  # a process or thread id (0: the calling thread)
# The ioprio_set / ioprio_get system call numbers: (set, get) by machine (the Linux syscall tables).
IOPRIO_SYSCALLS = {"x86_64": (251, 252), "i386": (289, 290), "i686": (289, 290),
                   "aarch64": (30, 31), "arm64": (30, 31), "riscv64": (30, 31), "loongarch64": (30, 31),
                   "armv7l": (314, 315), "ppc64le": (273, 274), "s390x": (282, 283)}


def be_nice() -> None:
    """Lower this process (every thread it has now, and all it starts later) to nice 19 and the
    idle I/O class, as far as the system allows; never raises for what the system lacks."""
    for thread in _threads():
        try:
            if os.getpriority(os.PRIO_PROCESS, thread) < NICEST:
                os.setpriority(os.PRIO_PROCESS, thread, NICEST)
        except OSError:  # a thread that ended meanwhile
            pass
        set_io_class(thread, IOPRIO_CLASS_IDLE)


def _threads() -> list[int]:
    """The ids of this process's threads (Linux: each has its own priority), else just this process."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def set_io_class(thread: int, io_class: int, level: int = 0) -> bool:
    """Put ``thread`` (0: the calling one) in an I/O scheduling class; whether the system did."""
    call = _syscall()
    numbers = IOPRIO_SYSCALLS.get(platform.machine())
    if call is None or numbers is None:
        return False
    return call(numbers[0], IOPRIO_WHO_PROCESS, thread, (io_class << IOPRIO_CLASS_SHIFT) | level) == 0


def io_class(pid: int = 0) -> int | None:
    """The I/O scheduling class of ``pid``'s (main) thread, None where it cannot be read."""
    call = _syscall()
    numbers = IOPRIO_SYSCALLS.get(platform.machine())
    if call is None or numbers is None:
        return None
    value = call(numbers[1], IOPRIO_WHO_PROCESS, pid)
    return None if value < 0 else value >> IOPRIO_CLASS_SHIFT


@functools.lru_cache(maxsize=1)
def _syscall():
    """libc's ``syscall`` on Linux (from the C library already loaded: ``find_library`` would start
    ldconfig, a process made before the I/O class is set), else None."""
    if platform.system() != "Linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
