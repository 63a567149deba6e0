"""A library owner's cron job starts fast: what each step loads, and what a damaged model does.

Times are measured in benchmarks/scan.py; these tests guard the causes — the modules a
process loads — which a timing test on a shared machine could not.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from helpers import tone, write_audio

MOODMAP = str(Path(sys.executable).parent / "moodmap")
HEAVY = ("onnxruntime", "torch", "scipy", "av", "matplotlib", "fastapi", "uvicorn", "librosa", "moodmap.predict")


def loaded_after(code: str) -> set[str]:
    """The heavy modules a fresh interpreter has loaded after running ``code``."""
    script = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_command_line_package_loads_nothing_heavy():
    # spawned workers import the console script's module again: it must stay light
    assert loaded_after("import moodmap.cli") == set()
    assert "typer" not in subprocess.run([sys.executable, "-c", "import sys, moodmap.cli; print(*sys.modules)"],
                                         capture_output=True, text=True).stdout.split()


def test_help_loads_no_model_runtime_audio_or_web_stack():
    assert loaded_after("from moodmap.cli import app\nfrom typer.testing import CliRunner\n"
                        "assert CliRunner().invoke(app, ['--help']).exit_code == 0") == set()


def test_an_unchanged_rescan_loads_no_model_and_no_decoder(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "a.flac", tone(12.0))
    db = tmp_path / "lib.sqlite"
    code = f"from moodmap.scan import scan_library\ns = scan_library({str(music)!r}, {str(db)!r}, jobs=1)\n"
    assert "onnxruntime" in loaded_after(code + "assert s.analysed == 1")  # the first scan does the work
    assert loaded_after(code + "assert s.unchanged == 1 and s.analysed == 0") == set()


def test_a_mp3_and_flac_library_never_loads_pyav(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "a.flac", tone(12.0))
    write_audio(music / "b.mp3", tone(12.0))
    code = (f"from moodmap.scan import scan_library\n"
            f"assert scan_library({str(music)!r}, {str(tmp_path / 'l.sqlite')!r}, jobs=1).analysed == 2")
    assert "av" not in loaded_after(code)


def test_a_damaged_model_stops_the_scan_and_marks_no_song_failed(exported, tmp_path):
    _, folder = exported
    broken = tmp_path / "models"
    shutil.copytree(folder, broken)
    with open(broken / "tiny.onnx", "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00" * 8)
    music = tmp_path / "music"
    music.mkdir()
    for name in ("a.flac", "b.flac", "c.flac"):
        write_audio(music / name, tone(12.0))
    done = subprocess.run([MOODMAP, "scan", str(music), "--db", "lib.sqlite", "--model", "tiny", "--jobs", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MOODMAP_MODELS": str(broken)})
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("moodmap: ") and "note:" not in line]
    assert errors == [f"moodmap: {broken / 'tiny.onnx'}: sha256 does not match: the file is corrupt or not the "
                      "one expected"], done.stderr
    assert "Traceback" not in done.stderr
    with sqlite3.connect(tmp_path / "lib.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM failures").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM songs").fetchone() == (0,)
