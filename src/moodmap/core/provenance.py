"""Where a number came from: the data set behind a cache, recorded once, when it is prepared.

A cache's ``meta.json`` holds the record; every run summary, checkpoint, exported model,
registry entry and model card carries a copy. Whether data is synthetic is therefore never
judged again from the working directory or from a folder that may be gone: a command run
from elsewhere, or after the generated songs are deleted, says the same thing.

>>> record = dataset_record("emomusic", "build/demo/synth")   # doctest: +SKIP
>>> label(record)                                              # doctest: +SKIP
'emomusic (synthetic, `moodmap synth --renderer numpy`: wavetable voices)'
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .clock import timestamp

DEMO_NOTE = "demo weights, trained on synthetic music"
# How each of `moodmap synth`'s renderers plays its scores, in the words a label uses.
RENDERER_WORDS = {"numpy": "wavetable voices", "soundfont": "sampled instruments through FluidSynth"}


def dataset_record(name: str, root: str | Path) -> dict:
    """The provenance of the data set ``name`` at ``root``: absolute root, synthetic or not (and
    then how ``moodmap synth`` made it), the moodmap version and time that recorded it."""
    from .. import __version__

    root = Path(root).expanduser().resolve()
    synth = synth_record(root)
    record = {"name": name, "root": str(root), "synthetic": synth is not None,
              "recorded_by": f"moodmap {__version__}",
              "recorded_at": timestamp()}
    return {**record, "synth": synth} if synth is not None else record


def synth_record(root: str | Path) -> dict | None:
    """How ``moodmap synth`` made the set at ``root`` (synth.json: its settings, and its sha256),
    or None when it did not make it. Read when a cache is prepared; afterwards the cache's record
    counts. Here, not beside the generator, so that reading a record never loads the renderers."""
    root = Path(root)
    if not (root / "synth_params.csv").exists():
        return None
    try:
        raw = (root / "synth.json").read_bytes()
        spec = json.loads(raw)
    except (OSError, ValueError):  # sets made before synth.json existed used the numpy renderer
        return {"renderer": "numpy", "seed": None, "songs": None, "synth_json_sha256": None}
    return {**spec, "renderer": spec.get("renderer") or "numpy", "synth_json_sha256": hashlib.sha256(raw).hexdigest()}


def complete(record: dict) -> dict:
    """A record as it should be: one written before moodmap kept provenance (no ``synthetic``
    key) is judged from its folder, the only evidence there is — once, here."""
    if "synthetic" in record or not record.get("root"):
        return {"synthetic": False, **record}
    return {**dataset_record(record.get("name", ""), record["root"]), "recorded_at": None,
            "recorded_by": "reconstructed from the data set folder"}


def label(record: dict) -> str:
    """The data set's name, and how it was made when it is synthetic (every accuracy figure names its data)."""
    record = complete(record)
    if not record["synthetic"]:
        return record.get("name", "")
    renderer = (record.get("synth") or {}).get("renderer") or "numpy"
    return (f"{record.get('name', '')} (synthetic, `moodmap synth --renderer {renderer}`: "
            f"{RENDERER_WORDS.get(renderer, renderer)})")


def note(record: dict | None) -> str | None:
    """What every output of weights trained on this data must say about them, if anything."""
    return DEMO_NOTE if record and complete(record)["synthetic"] else None


def recipe(record: dict) -> list[str]:
    """The commands that make the data set again, when moodmap made it (else none)."""
    synth = complete(record).get("synth")
    if not synth:
        return []
    options = f"--songs {synth.get('songs')} --seed {synth.get('seed')} --renderer {synth.get('renderer') or 'numpy'}"
    if synth.get("seconds") not in (None, 45.0):
        options += f" --seconds {synth['seconds']:g}"
    if synth.get("audio_format") not in (None, "flac"):
        options += f" --audio-format {synth['audio_format']}"
    return [f"moodmap synth DATA {options}", "moodmap prepare DATA --out CACHE"]
