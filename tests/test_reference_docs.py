"""docs/reference/ is what the program says now: every command's --help, every setting with its default and
its rule, the error types and exit codes, the index schema (tools/reference_docs.py generates them)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "reference_docs.py"


def test_the_reference_pages_are_what_the_program_gives_now():
    done = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_the_cli_reference_holds_every_command(tmp_path):
    text = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    for command in ("moodmap scan", "moodmap playlist", "moodmap library stats", "moodmap train", "moodmap serve"):
        assert f"## `{command}`" in text, command
    assert "Usage: moodmap scan [OPTIONS]" in text  # the program's own words, not a summary of them
