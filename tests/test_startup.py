"""A library owner's cron job starts fast: what each step loads, and what a damaged model does.

Times are measured in benchmarks/scan.py; these tests guard the causes — the modules a
process loads — which a timing test on a shared machine could not. The library side's commands
load nothing of the research side (`moodmap[train]`), in any process they start: the import
contract (test_import_contract.py) reads that from the source, these tests watch it happen.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import free_port, tone, write_audio
from loadgen import multipart

MOODMAP = str(Path(sys.executable).parent / "moodmap")
HEAVY = ("onnxruntime", "torch", "scipy", "av", "matplotlib", "fastapi", "uvicorn", "librosa", "moodmap.inference.predict")
RESEARCH_PACKAGES = ("torch", "scipy", "matplotlib", "librosa", "sklearn", "onnx")
RESEARCH_MODULES = ("moodmap.research.models.checkpoint", "moodmap.research.models.onnx_form", "moodmap.research.presets", "moodmap.research.cache",
                    "moodmap.research.train", "moodmap.research.datasets")
# Put first on a process's path, this makes every Python process started with it (the command and
# the workers it spawns) append to LOG each research module it starts to import, as it happens.
RECORDER = """import os, sys

class _Recorder:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {packages!r} or name.startswith({modules!r}):
            with open({log!r}, "a") as log:
                log.write(f"{{os.getpid()}} {{name}}\\n")
        return None

sys.meta_path.insert(0, _Recorder())
"""


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
    code = f"from moodmap.library.scan import scan_library\ns = scan_library({str(music)!r}, {str(db)!r}, jobs=1)\n"
    assert "onnxruntime" in loaded_after(code + "assert s.analysed == 1")  # the first scan does the work
    assert loaded_after(code + "assert s.unchanged == 1 and s.analysed == 0") == set()


def test_a_mp3_and_flac_library_never_loads_pyav(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "a.flac", tone(12.0))
    write_audio(music / "b.mp3", tone(12.0))
    code = (f"from moodmap.library.scan import scan_library\n"
            f"assert scan_library({str(music)!r}, {str(tmp_path / 'l.sqlite')!r}, jobs=1).analysed == 2")
    assert "av" not in loaded_after(code)


@pytest.mark.parametrize("damage", ["corrupt", "unloadable"])
def test_a_damaged_model_stops_the_scan_and_marks_no_song_failed(exported, tmp_path, damage):
    """A corrupt model (its checksum says so) is refused before the scan starts; one whose checksum
    fits but that onnxruntime cannot load stops the scan in its workers. No song is blamed."""
    from moodmap.core.checksums import sha256

    _, folder = exported
    broken = tmp_path / "models"
    shutil.copytree(folder, broken)
    if damage == "corrupt":
        with open(broken / "tiny.onnx", "r+b") as handle:
            handle.seek(100)
            handle.write(b"\x00" * 8)
        said = "sha256 does not match: the file is corrupt or not the one expected"
    else:
        (broken / "tiny.onnx").write_bytes(b"not a model " * 100)
        entry = json.loads((broken / "tiny.json").read_text())
        (broken / "tiny.json").write_text(json.dumps({**entry, "onnx_sha256": sha256(broken / "tiny.onnx")}))
        said = "not a moodmap ONNX model"
    music = tmp_path / "music"
    music.mkdir()
    for name in ("a.flac", "b.flac", "c.flac"):
        write_audio(music / name, tone(12.0))
    done = subprocess.run([MOODMAP, "scan", str(music), "--db", "lib.sqlite", "--model", "tiny", "--jobs", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MOODMAP_MODELS": str(broken)})
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("moodmap: ") and "note:" not in line]
    assert len(errors) == 1 and errors[0].startswith(f"moodmap: {broken / 'tiny.onnx'}: {said}"), done.stderr
    assert "Traceback" not in done.stderr
    if damage == "corrupt":
        assert not (tmp_path / "lib.sqlite").exists()  # refused before the index was opened
        return
    with sqlite3.connect(tmp_path / "lib.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM failures").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM songs").fetchone() == (0,)


@pytest.fixture
def watched(tmp_path) -> tuple[dict, Path]:
    """An environment whose Python processes log each research module they import; and the log."""
    hook, log = tmp_path / "recorder", tmp_path / "research-imports.log"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(RECORDER.format(packages=RESEARCH_PACKAGES, modules=RESEARCH_MODULES,
                                                           log=str(log)))
    return {**os.environ, "PYTHONPATH": str(hook)}, log


def research_imports(log: Path) -> list[str]:
    """The research modules the log shows imported: moodmap's by name, the others' by package."""
    names = [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []
    return sorted({name if name.startswith("moodmap") else name.partition(".")[0] for name in names})


def test_the_recorder_sees_a_research_import(watched):
    env, log = watched
    subprocess.run([sys.executable, "-c", "import moodmap.research.presets"], env=env, check=True, timeout=60)
    assert "moodmap.research.presets" in research_imports(log)


def test_predict_and_scan_load_nothing_of_the_research_side(watched, tmp_path):
    env, log = watched
    music = tmp_path / "music"
    music.mkdir()
    for name in ("a.flac", "b.mp3", "c.wav"):
        write_audio(music / name, tone(12.0))
    predicted = subprocess.run([MOODMAP, "predict", str(music / "a.flac"), "--timeline"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120)
    assert predicted.returncode == 0, predicted.stderr
    scanned = subprocess.run([MOODMAP, "scan", str(music), "--db", "library.sqlite", "--jobs", "2", "--write-tags"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)  # two spawned workers
    assert scanned.returncode == 0 and "3 analysed" in scanned.stdout, scanned.stderr
    assert research_imports(log) == []


def test_a_served_request_loads_nothing_of_the_research_side(watched, tmp_path):
    env, log = watched
    song = write_audio(tmp_path / "song.flac", tone(12.0))
    port = free_port()
    server = subprocess.Popen([MOODMAP, "serve", "--port", str(port), "--workers", "1"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        body, kind = multipart(song.name, song.read_bytes())
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", body, {"Content-Type": kind})
        for _ in range(300):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    answer = json.loads(response.read())
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.1)
        assert 0.1 <= answer["valence"] <= 0.9, answer  # analysed in the server's worker process
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert research_imports(log) == []
