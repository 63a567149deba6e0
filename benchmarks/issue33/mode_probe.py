# Issue 33 diagnostic (2026-12-02). Run from the repository root:
#   MOODMAP_MODELS=build/exp/models python benchmarks/issue33/mode_probe.py --models improved,wide-r0,... [--json F]
"""Where does a model hear mode in a real composition: in the tune or in the accompaniment?

The check's major-vs-minor relation moves scale degrees 3, 6 and 7 in every pitched part at once. Here
each of the check's 26 MIDI pieces is also played with only its melody (the pitched channel that holds
the highest sounding note most often) and with only the other pitched parts, both in the piece's major
and minor form (drums kept in all three, as the check keeps them). Per model and part: the share of
pieces the major form sounds happier, and the mean Δ valence. A model that learned mode from the
generator's chords but not from a line (or the other way round) shows it here.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, "benchmarks")
_spec = importlib.util.spec_from_file_location("real_music", "benchmarks/real_music.py")
rm = importlib.util.module_from_spec(_spec)
sys.modules["real_music"] = rm
_spec.loader.exec_module(rm)
import metamorphic as mm  # noqa: E402

GRID = 0.05  # seconds between the instants the highest sounding note is read at


def melody_channel(midi) -> int:
    """The pitched channel that holds the highest sounding note at the most instants."""
    notes = mm.channel_notes(midi)
    starts, ends, pitches, channels = (np.array(x) for x in zip(*notes))
    grid = np.arange(0.0, ends.max(), GRID)
    on = (starts[None, :] <= grid[:, None]) & (ends[None, :] > grid[:, None])
    top = np.where(on, pitches[None, :], -1).argmax(axis=1)[on.any(axis=1)]
    return Counter(channels[top].tolist()).most_common(1)[0][0]


def parts(midi) -> dict:
    """{form|part: MidiFile} for form in major/minor and part in all/melody/accompaniment."""
    variants, _ = mm.midi_variants(midi)
    tune = melody_channel(midi)
    out = {}
    for form in ("major", "minor"):
        out[f"{form}|all"] = variants[form]
        out[f"{form}|melody"] = mm.edited(variants[form], lambda c, p: [p] if c == tune else [])
        out[f"{form}|accompaniment"] = mm.edited(variants[form], lambda c, p: [] if c == tune else [p])
    return out


def main() -> None:
    import mido

    from moodmap.research.datasets.soundfont import find_soundfont

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="improved")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names = args.models.split(",")
    models = rm.Models(names, rm.CACHE / "predictions.json")
    font = find_soundfont()
    values: dict[str, dict[str, dict[str, list[float]]]] = {}  # piece → form|part → model → (v, a)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (_, path) in enumerate(rm.midi_pieces(16, 0), 1):
            identity = rm.midi_identity(path, font)
            values[str(path)] = {}
            for key, midi in parts(rm.truncated(mido.MidiFile(str(path)), rm.MIDI_SECONDS)).items():
                per = {m: models.cached(m, identity, "probe|" + key) for m in names}
                if any(v is None for v in per.values()):
                    wav = rm.render(midi, Path(tmp) / "probe.wav", font)
                    for m in names:
                        per[m] = list(models.score(m, models.windows(m, wav)))
                        models.store(per[m], m, identity, "probe|" + key)
                    wav.unlink()
                    models.forget()
                values[str(path)][key] = per
            print(f"\rpiece {i}", end="", flush=True)
    print()
    models.save()
    rows = {}
    for m in names:
        for part in ("all", "melody", "accompaniment"):
            delta = np.array([v[f"major|{part}"][m][0] - v[f"minor|{part}"][m][0] for v in values.values()])
            rows[f"{m}|{part}"] = {"n": len(delta), "share_major_happier": float((delta > 0).mean()),
                                   "mean_delta": float(delta.mean())}
    print("| model | all parts: share / mean Δ | melody only | accompaniment only |")
    print("|---|---:|---:|---:|")
    for m in names:
        cells = [f"{rows[f'{m}|{p}']['share_major_happier']:.0%} / {rows[f'{m}|{p}']['mean_delta']:+.3f}"
                 for p in ("all", "melody", "accompaniment")]
        print(f"| {m} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "per_piece": values}, indent=1) + "\n")


if __name__ == "__main__":
    main()
