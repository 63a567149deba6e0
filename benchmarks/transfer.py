"""Does what a model learnt from synthetic music carry over to real recordings?

No labelled real music is on this machine, so the yardstick is an independent model
trained on real music: VibeNet 0.1.0 (installed into a throwaway venv, benchmarks/_vibenet,
never a dependency). Each registered moodmap model scans the same 45 s mp3 clips of
Debian game music (music.py); the figure is Pearson r of its valence with VibeNet's
valence and of its arousal with VibeNet's energy, over the clips, with a 95 % interval
(Fisher z with n = the number of tracks: the clips come from 30 tracks, three each, and
clips of one track are not independent, so n = 90 would be too narrow). VibeNet is not
ground truth: r ≈ 1 would mean "agrees with VibeNet", and
r near 0 or below means the model's sense of mood did not transfer.

Run: .venv/bin/python benchmarks/transfer.py [--models paper,improved] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from results import publish
from music import DATA, cut_clips, install_music
from scan import HERE, MOODMAP, agreement, run, vibenet


def interval(r: float, n: int) -> tuple[float, float]:
    """95 % confidence interval of a Pearson r over n pairs (Fisher z)."""
    z, half = np.arctanh(r), 1.96 / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="paper,improved")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    tracks = install_music()[:30]
    cut_clips(tracks)
    clips = DATA / "clips"
    n = len(list(clips.glob("*.mp3")))
    _, _, vibe_csv = run([str(vibenet()), "-q", "-f", "csv", "-j", "2", str(clips)])
    work = Path(tempfile.mkdtemp(prefix="moodmap-transfer-"))
    lines = [f"### transfer to real music ({datetime.date.today()}, {platform.machine()}, "
             f"{subprocess.getoutput('nproc')} cores)", "",
             f"{n} × 45 s clips of {len(tracks)} tracks of Debian game music; Pearson r with VibeNet 0.1.0 over the "
             f"clips (95 % interval, Fisher z with n = {len(tracks)} tracks: clips of one track are not independent):",
             "",
             "| model | valence vs VibeNet valence | arousal vs VibeNet energy |", "|---|---:|---:|"]
    try:
        for model in args.models.split(","):
            db = work / f"{model}.sqlite"
            run([str(MOODMAP), "scan", str(clips), "--db", str(db), "--jobs", "2", "--model", model])
            cells = [f"{r:+.2f} [{lo:+.2f}, {hi:+.2f}]" for r in agreement(db, vibe_csv)
                     for lo, hi in [interval(r, len(tracks))]]
            lines.append(f"| {model} | {cells[0]} | {cells[1]} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = "\n".join(lines) + "\n"
    publish(report, record=not args.no_record)


if __name__ == "__main__":
    main()
