"""Static checks, as tests: `make test` fails when the source stops being lint- or type-clean.

- ``ruff check src`` passes with the settings in pyproject.toml ([tool.ruff]): pyflakes (unused or
  undefined names), pycodestyle (lines of at most 120 characters), import order, and a complexity
  limit of 12 per function (a function past it is split, or says on its ``def`` line why not yet).
- ``mypy`` passes over ``moodmap.core``, ``moodmap.inference`` and ``moodmap.library`` ([tool.mypy]);
  the rest (the CLI, the web app, the research side) is not yet type-clean and is left out until it is.

Each runs as the tool's own command line, from the repository root, and a failure shows its output.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess:
    """One tool run by this interpreter (``python -m TOOL``), from the repository root."""
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_passes_over_src():
    result = run("ruff", "check", "src")
    assert result.returncode == 0, f"ruff check src:\n{result.stdout}{result.stderr}"


def test_mypy_passes_over_core_inference_and_library():
    command = ("mypy", "src/moodmap/core", "src/moodmap/inference", "src/moodmap/library")
    result = run(*command)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
