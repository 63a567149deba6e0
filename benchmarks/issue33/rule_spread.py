# Issue 33 diagnostic (2026-12-02). Run from the repository root:
#   python benchmarks/issue33/rule_spread.py [--songs 400] [--json build/exp/rule_spread.json]
"""How widely do real compositions spread on the generator's own valence rule?

The spread goal compares the model's real-music valence sd with its synthetic validation sd.
The synthetic songs draw mode, consonance and register uniformly, so their rule valence
(0.30 mode + 0.35 consonance + 0.35 register) spreads as far as the rule allows. Real pieces
may not: most are major or minor (not phrygian … lydian), their melodies sit in a middle register,
and their harmony is mostly consonant. If the rule itself, read from real scores, spreads less
than the generator's draws, a model that follows the rule faithfully must spread less too.

Each cue is measured by one function from the notes alone, applied alike to the generator's
scores (``compose``: ground truth known) and to the check's real MIDI pieces (the first 75 s):

- mode: Krumhansl–Schmuckler on duration-weighted pitch classes → major 0.85 / minor 0.20
  (the values of ionian and aeolian in the generator's mode scale);
- register: the duration-weighted mean pitch of the skyline (highest sounding note);
- roughness: the share of time on which two sounding notes are a minor second / minor ninth
  or a tritone apart.

Register and consonance are put on the generator's 0–1 scale by inverting a straight line fitted
on generator songs (measured cue = a + b × true parameter), so they keep their scale (a regression
the other way would shrink them). The same measured-cue valence is computed for generator songs,
so the two sds are measured by one yardstick. The shipped model's predictions on the pieces'
renderings (FluidSynth, as in the check) are set beside.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, "benchmarks")
_spec = importlib.util.spec_from_file_location("real_music", "benchmarks/real_music.py")
rm = importlib.util.module_from_spec(_spec)
sys.modules["real_music"] = rm
_spec.loader.exec_module(rm)
import metamorphic as mm  # noqa: E402

from moodmap.research.datasets.score import MODES, VALENCE_WEIGHTS, compose, song_params  # noqa: E402

GRID = 0.05  # seconds between the time points the skyline and roughness are read at
ROUGH = {1, 6, 13}  # semitones: minor second, tritone, minor ninth
MODE_VALUE = {"major": MODES["ionian"][0], "minor": MODES["aeolian"][0]}


def cues(notes: list[tuple[float, float, int]]) -> dict:
    """Mode, skyline centre and roughness share of a list of (start, end, pitch)."""
    end = max(e for _, e, _ in notes)
    grid = np.arange(0.0, end, GRID)
    starts, ends, pitches = (np.array(x) for x in zip(*notes))
    on = (starts[None, :] <= grid[:, None]) & (ends[None, :] > grid[:, None])
    sounding = on.any(axis=1)
    top = np.where(on, pitches[None, :], -1).max(axis=1)[sounding]
    rough = np.zeros(len(grid), dtype=bool)
    for i in np.flatnonzero(sounding):
        p = np.unique(pitches[on[i]])
        d = np.abs(p[:, None] - p[None, :])
        rough[i] = bool(np.isin(d, list(ROUGH)).any())
    _, mode, r = mm.detect_key(mm.pitch_class_durations(notes))
    return {"mode": mode, "key_r": r, "skyline": float(top.mean()), "roughness": float(rough[sounding].mean())}


def generator_cues(songs: int, seconds: float) -> list[dict]:
    out = []
    for i in range(songs):
        params = song_params(f"g{i}", 9000 + i)
        notes, _ = compose(params, seconds)
        found = cues([(n.onset, n.onset + n.duration, n.pitch) for n in notes])
        found.update(register=params.register, consonance=params.consonance, mode_true=params.mode,
                     valence_true=params.valence_score)
        out.append(found)
    return out


def line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(a, b, r²) of y = a + b x."""
    b, a = np.polyfit(x, y, 1)
    r = np.corrcoef(x, y)[0, 1]
    return float(a), float(b), float(r * r)


def quartiles(rows: list[dict], key: str) -> list[float]:
    return [float(q) for q in np.percentile([r[key] for r in rows], [0, 25, 50, 75, 100])]


def on_scale(measured: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.clip((measured - a) / b, 0.0, 1.0)


def rule_valence(mode: list[str], register: np.ndarray, consonance: np.ndarray) -> np.ndarray:
    values = np.array([MODE_VALUE[m] for m in mode])
    return (VALENCE_WEIGHTS["mode"] * values + VALENCE_WEIGHTS["consonance"] * consonance
            + VALENCE_WEIGHTS["register"] * register)


def predictions(pieces: list[Path], model: str) -> list[float]:
    """The model's valence for each piece's original rendering (the check's truncation and FluidSynth)."""
    import mido

    from moodmap.research.datasets.soundfont import find_soundfont

    models = rm.Models([model], rm.CACHE / "predictions.json")
    font = find_soundfont()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(pieces):
            identity = rm.midi_identity(path, font)
            value = models.cached(model, identity, "original")
            if value is None:
                wav = rm.render(rm.truncated(mido.MidiFile(str(path)), rm.MIDI_SECONDS), Path(tmp) / f"p{i}.wav", font)
                value = models.score(model, models.windows(model, wav))
                models.store(value, model, identity, "original")
                wav.unlink()
                models.forget()
            out.append(float(value[0]))
    models.save()
    return out


def main() -> None:
    import mido

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=400, help="generator songs for the calibration")
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--model", default="improved")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    gen = generator_cues(args.songs, args.seconds)
    sky = np.array([g["skyline"] for g in gen])
    rough = np.array([g["roughness"] for g in gen])
    reg_line = line(np.array([g["register"] for g in gen]), sky)
    con_line = line(np.array([g["consonance"] for g in gen]), rough)
    two_modes = ["major" if MODES[g["mode_true"]][0] >= 0.5 else "minor" for g in gen]
    gen_v = rule_valence(two_modes, on_scale(sky, *reg_line[:2]), on_scale(rough, *con_line[:2]))
    # the same two-mode valence from the true register and consonance: what the measurement adds
    gen_v_true_cues = rule_valence(two_modes, np.array([g["register"] for g in gen]),
                                   np.array([g["consonance"] for g in gen]))
    gen_true = np.array([g["valence_true"] for g in gen])

    chosen = [path for _, path in rm.midi_pieces(16, 0)]  # the check's own sample
    real = []
    for path in chosen:
        found = cues(mm.midi_notes(rm.truncated(mido.MidiFile(str(path)), rm.MIDI_SECONDS)))
        found["piece"] = path.name
        real.append(found)
    real_reg = on_scale(np.array([r["skyline"] for r in real]), *reg_line[:2])
    real_con = on_scale(np.array([r["roughness"] for r in real]), *con_line[:2])
    real_v = rule_valence([r["mode"] for r in real], real_reg, real_con)
    predicted = np.array(predictions(chosen, args.model))
    for r, reg, con, v, p in zip(real, real_reg, real_con, real_v, predicted):
        r.update(register=float(reg), consonance=float(con), rule_valence=float(v), predicted=float(p))

    sd = lambda x: float(np.std(x, ddof=1))  # noqa: E731
    major = np.array([r["mode"] == "major" for r in real])
    low = [g for g in gen if g["register"] < 0.1]
    smooth = [g for g in gen if g["consonance"] > 0.9]
    result = {
        "generator": {"songs": len(gen), "register_line": reg_line, "consonance_line": con_line,
                      "sd_true_valence": sd(gen_true), "sd_two_mode_true_cues": sd(gen_v_true_cues),
                      "sd_measured_cues": sd(gen_v), "r_measured_vs_true": float(np.corrcoef(gen_v, gen_true)[0, 1]),
                      "mean_register": float(np.mean([g["register"] for g in gen])),
                      "mean_consonance": float(np.mean([g["consonance"] for g in gen])),
                      "skyline_quartiles_register_below_0.1": quartiles(low, "skyline"),
                      "roughness_quartiles_consonance_above_0.9": quartiles(smooth, "roughness")},
        "real": {"pieces": len(real), "major": sum(r["mode"] == "major" for r in real),
                 "sd_rule_valence": sd(real_v), "mean_rule_valence": float(real_v.mean()),
                 "register_mean_sd": [float(real_reg.mean()), sd(real_reg)],
                 "consonance_mean_sd": [float(real_con.mean()), sd(real_con)],
                 "sd_predicted": sd(predicted), "r_predicted_vs_rule": float(np.corrcoef(predicted, real_v)[0, 1]),
                 "predicted_major_minor": [float(predicted[major].mean()), float(predicted[~major].mean())],
                 "skyline_quartiles": quartiles(real, "skyline"), "roughness_quartiles": quartiles(real, "roughness"),
                 "per_piece": real},
        "model": args.model,
    }
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "per_piece"} if isinstance(v, dict) else v
                      for k, v in result.items()}, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
