"""Real music for the benchmarks: Debian game-music tracks and 45 s mp3 clips cut from them.

The audio is installed from Debian packages and cut into benchmarks/_data/ on first use;
it is never committed.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).parent
DATA = HERE / "_data"
sys.path.insert(0, str(HERE.parent / "tests"))  # the benchmarks share the tests' helpers (loadgen, conftest)
PACKAGES = ("singularity-music", "hyperrogue-music")


def install_music() -> list[Path]:
    """The Debian game-music OGG files, installing the packages when missing."""
    found = _listed_oggs()
    if not found:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], check=True)
        found = _listed_oggs()
    return found


def _listed_oggs() -> list[Path]:
    paths = []
    for package in PACKAGES:
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
        paths += [Path(line) for line in listing.stdout.splitlines() if line.endswith(".ogg")]
    return sorted(p for p in paths if p.is_file() and sf.info(str(p)).duration >= 50)


def cut_clips(tracks: list[Path], per_track: int = 3) -> Path:
    """45 s stereo mp3 clips (start, middle, end of each track) and a manifest, cached in _data/."""
    clips = DATA / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    lines = ["path,valence,arousal"]
    for i, track in enumerate(sorted(tracks)):
        info = sf.info(str(track))
        for k in range(per_track):
            target = clips / f"{i:03d}-{k}.mp3"
            if not target.exists():
                start = int(k * (info.duration - 45) / max(1, per_track - 1) * info.samplerate)
                data, rate = sf.read(str(track), start=start, frames=45 * info.samplerate, dtype="float32")
                sf.write(str(target), data, rate, format="MP3")
            lines.append(f"clips/{target.name},0.5,0.5")
    manifest = DATA / "clips.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest
