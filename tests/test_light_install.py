"""`pip install moodmap` is the library side: a fresh venv of at most 400 MB, without PyTorch,
librosa, SciPy or matplotlib, predicts, scans and tags, makes playlists and maps, on a library in
six formats; a research command says which extra it needs. Slow (it builds a venv from the
package registry): `make test-slow`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from userlib import make_user_library

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def light(tmp_path_factory) -> Path:
    """A fresh venv with `pip install moodmap` (no extras) in it. With uv (make venv installs it), as
    pip would resolve it from the package's metadata, in seconds instead of pip's minute or two."""
    venv = tmp_path_factory.mktemp("light") / "venv"
    uv = Path(sys.executable).parent / "uv"
    if uv.exists():
        subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        install = [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(ROOT)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)]
    subprocess.run(install, check=True, capture_output=True)
    return venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([str(bin_dir / "moodmap"), *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done.stdout + done.stderr
    return done


def test_the_library_side_runs_without_pytorch(light, tmp_path):
    megabytes = int(subprocess.run(["du", "-sk", str(light.parent)], capture_output=True, text=True,
                                   check=True).stdout.split()[0]) / 1024
    assert megabytes <= 400, f"a fresh `pip install moodmap` takes {megabytes:.0f} MB"
    for module in ("torch", "librosa", "scipy", "matplotlib"):
        probe = subprocess.run([str(light / "python"), "-c", f"import {module}"], capture_output=True)
        assert probe.returncode != 0, f"{module} was installed by `pip install moodmap`"
    songs = make_user_library(tmp_path / "Music")
    out = run(light, "predict", str(songs[0]), "--format", "json", cwd=tmp_path).stdout
    assert '"note": "demo weights, trained on synthetic music"' in out
    run(light, "predict", str(songs[0]), "--plot", "timeline.png", cwd=tmp_path)
    assert (tmp_path / "timeline.png").stat().st_size > 5000
    scan = run(light, "scan", "Music", "--db", "lib.sqlite", "--write-tags", cwd=tmp_path)
    assert f"{len(songs)} files tagged" in scan.stdout, scan.stdout
    run(light, "playlist", "--db", "lib.sqlite", "--arousal", "rise", "--n", "4", "-o", "rise.m3u8", cwd=tmp_path)
    entries = [line for line in (tmp_path / "rise.m3u8").read_text().splitlines() if line and not line.startswith("#")]
    assert len(entries) >= 2 and all((tmp_path / entry).exists() for entry in entries)
    run(light, "map", "--db", "lib.sqlite", "-o", "map.png", cwd=tmp_path)
    assert (tmp_path / "map.png").stat().st_size > 5000
    run(light, "map", "--db", "lib.sqlite", "-o", "map.html", cwd=tmp_path)
    refused = run(light, "train", "cache", "--out", "run", cwd=tmp_path, code=2)
    assert "pip install 'moodmap[train]'" in refused.stderr and "Traceback" not in refused.stderr
