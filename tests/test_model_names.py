"""A model name is a name: a folder or file in the working directory called like a registered
model (``improved/``, ``paper/``) never replaces it. Only an argument that looks like a path
(a path separator, or a ``.pt`` / ``.onnx`` suffix) is a path; the rule is the registry's."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import tone, write_audio

MOODMAP = str(Path(sys.executable).parent / "moodmap")


def moodmap(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed program, with no user models (the registered names are the shipped ones)."""
    return subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MOODMAP_MODELS": str(cwd / "no-user-models")})


def model_of(done: subprocess.CompletedProcess) -> str:
    """The model a `predict --format csv` says it used."""
    return next(csv.DictReader(done.stdout.splitlines()))["model"]


def errors(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if not line.startswith("moodmap: note: ")]


@pytest.fixture
def crowded(tmp_path) -> Path:
    """A working directory holding folders named like the shipped models, and a song."""
    for name in ("improved", "paper"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text("not a model")
    write_audio(tmp_path / "song.wav", tone(16.0, 16000), 16000)
    return tmp_path


def test_folders_named_like_models_do_not_replace_them(crowded):
    done = moodmap("predict", "song.wav", "--format", "csv", cwd=crowded)  # the default model, improved
    assert done.returncode == 0 and not errors(done), done.stderr
    assert model_of(done) == "improved"
    paper = moodmap("predict", "song.wav", "--model", "paper", "--format", "csv", cwd=crowded)
    assert paper.returncode == 0 and model_of(paper) == "paper", paper.stderr
    (crowded / "Music").mkdir()
    (crowded / "song.wav").rename(crowded / "Music" / "song.wav")
    scan = moodmap("scan", "Music", "--db", "lib.sqlite", "--model", "paper", cwd=crowded)
    assert scan.returncode == 0 and "1 analysed" in scan.stdout, scan.stderr


def test_a_file_named_like_a_model_does_not_replace_it(tmp_path):
    (tmp_path / "improved").write_bytes(b"a note to self, not a model")
    write_audio(tmp_path / "song.wav", tone(16.0, 16000), 16000)
    done = moodmap("predict", "song.wav", "--model", "improved", "--format", "csv", cwd=tmp_path)
    assert done.returncode == 0 and not errors(done), done.stderr
    assert model_of(done) == "improved"


def test_an_unknown_name_lists_the_registered_ones(crowded):
    done = moodmap("predict", "song.wav", "--model", "nonesuch", cwd=crowded)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(errors(done)) == 1 and errors(done)[0].startswith("moodmap: unknown model 'nonesuch'"), done.stderr
    assert "improved" in errors(done)[0] and "paper" in errors(done)[0]


@pytest.mark.parametrize("given, says", [("./improved", "not a model file"), ("gone/model.onnx", "no such model file"),
                                         ("gone.pt", "no such model file"), ("junk.onnx", "not a moodmap ONNX model")])
def test_a_path_that_is_no_model_names_the_path(crowded, given, says):
    (crowded / "junk.onnx").write_bytes(b"not a model " * 100)
    done = moodmap("predict", "song.wav", "--model", given, cwd=crowded)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    named = (f"moodmap: {given}: {says}", f"moodmap: {crowded / given}: {says}")  # as given, or where it is
    assert len(errors(done)) == 1 and errors(done)[0].startswith(named), done.stderr


def test_evaluate_takes_a_name_as_a_name(crowded):
    done = moodmap("evaluate", "improved", "no-cache", cwd=crowded)  # the registered model, then the missing cache
    assert done.returncode == 2 and len(errors(done)) == 1 and errors(done)[0].startswith("moodmap: no-cache"), \
        done.stderr


@pytest.mark.parametrize("name", ["mine/model", "mine.onnx", "mine.pt", ".hidden"])
def test_export_refuses_a_name_that_reads_as_a_path(crowded, name):
    done = moodmap("export", "no-run", "--name", name, cwd=crowded)
    assert done.returncode == 2 and errors(done) == [f"moodmap: {name!r} cannot name a model: a name has no path "
                                                     "separator, no leading dot and no .onnx or .pt suffix (those are "
                                                     "read as paths)"], done.stderr


def test_the_rule(tmp_path, monkeypatch):
    from moodmap.inference.registry import is_model_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "improved").mkdir()
    assert not any(map(is_model_path, ("improved", "paper", "mine", Path("improved"))))
    assert all(map(is_model_path, ("./improved", "run/last.pt", "last.pt", "m.onnx", "M.ONNX", Path("a/b"))))
