"""Process settings that make CPU training fast without changing a number.

- Threads: one per worker when runs go in parallel, all cores when one run goes alone.
- Allocator: glibc returns every large freed block to the OS and faults it back in on
  the next allocation; the paper CNN's conv output is ~75 MB per batch, so each step
  paid tens of milliseconds in page faults. Raising the mmap and trim thresholds keeps
  those blocks in the heap: a 2.3× faster training step, bit-identical results.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30

_configured = False


def configure(threads: int | None = None) -> None:
    """Set torch's thread count (when given) and keep large allocations in the heap."""
    global _configured
    import torch

    if threads:
        torch.set_num_threads(threads)
    if not _configured:
        _keep_large_blocks()
        _configured = True


def _keep_large_blocks() -> bool:
    """glibc mallopt: serve big blocks from the heap and do not trim it; False elsewhere."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2 * KEEP_BYTES))
    except (OSError, AttributeError):
        return False
