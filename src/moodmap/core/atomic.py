"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything moodmap writes that a later run relies on goes through here (temp file in
the same folder, fsync, ``os.replace``), so a kill -9 never leaves a torn file.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_SUFFIX = ".partial"
STAGED_SUFFIX = ".moodmap-inplace"  # a complete, verified new content waiting to be copied over its file


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(path)
    os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the user's usual mode
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


@contextlib.contextmanager
def in_place_path(path: str | os.PathLike) -> Iterator[Path]:
    """``atomic_path`` for a file with hard links, which ``os.replace`` would cut: the new content
    is written to a temp file, marked complete (renamed to the staged name), then copied over the
    file in place, keeping its inode and links. A crash during that copy leaves the staged file,
    and ``finish_in_place`` completes the copy on the next write."""
    path = Path(path)
    temp = _temp_beside(path)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, staged_path(path))
        finish_in_place(path)
    finally:
        temp.unlink(missing_ok=True)


def staged_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.parent / f".{path.name}{STAGED_SUFFIX}"


def finish_in_place(path: str | os.PathLike) -> bool:
    """Copy a staged new content over ``path`` in place, if one is waiting; True when it did."""
    staged = staged_path(path)
    if not staged.exists():
        return False
    with open(staged, "rb") as source, open(path, "r+b") as target:
        shutil.copyfileobj(source, target, 1 << 20)
        target.truncate()
        target.flush()
        os.fsync(target.fileno())
    staged.unlink()
    return True


def _temp_beside(path: Path) -> Path:
    """A new empty temp file next to ``path``, named with this process's id (``.NAME.PID.XXXX.partial``):
    only a dead process's temps are stale."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    return Path(name)


def _owner_alive(temp: Path) -> bool:
    """Whether the process that made ``temp`` still runs (a temp without an id is an old one: stale)."""
    parts = temp.name.rsplit(".", 3)
    if len(parts) < 4 or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # this process removes its own temps as it goes: one left over is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    replace_atomically(path, text.encode("utf-8"))


def create_exclusively(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` as a new file ``path``, atomically, never over anything there (``FileExistsError``):
    the complete temp file is hard-linked to the name, which fails when the name is taken. Where a
    file system has no hard links (FAT, some shares), the file is created exclusively and written."""
    path = Path(path)
    temp = _temp_beside(path)
    os.chmod(temp, 0o666 & ~_umask())
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links here: O_EXCL keeps "never over anything" (not "never half-written")
            with open(path, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    finally:
        temp.unlink(missing_ok=True)


def remove_stale_temps(folder: str | os.PathLike, name: str | None = None) -> int:
    """Delete temp files a killed run left in ``folder`` (only those of the file ``name`` when
    given: a music folder holds the user's files, not ours); returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = folder.glob(f".{glob.escape(name)}.*{TEMP_SUFFIX}" if name else f".*{TEMP_SUFFIX}")
    stale = [temp for temp in found if not _owner_alive(temp)]  # another live process's copy is not ours
    for temp in stale:
        temp.unlink(missing_ok=True)
    return len(stale)
