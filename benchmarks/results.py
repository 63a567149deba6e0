"""Where benchmark reports go: printed, and appended as a dated section to RESULTS.md."""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


def publish(report: str, record: bool = True) -> None:
    """Print ``report``; append it to RESULTS.md unless ``record`` is False (``--no-record``)."""
    print(report)
    if record:
        with open(RESULTS, "a", encoding="utf-8") as handle:
            handle.write("\n" + report)
