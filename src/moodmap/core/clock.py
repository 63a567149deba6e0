"""Times as moodmap records them — in the index, caches, sweeps and provenance records: UTC, ISO 8601,
to the second, with its zone said (``2026-11-30T21:06:32Z``), so a record read on another machine, or
after a clock change, means the same moment."""
from __future__ import annotations

import time


def timestamp() -> str:
    """Now, in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
