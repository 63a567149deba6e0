"""Issue 33: one manifest set of a `moodmap synth` set's songs and a rendered-score set's songs.

python benchmarks/issue33/combine.py SYNTH_SET SCORE_SET OUT
The synth songs are labelled by rate() of their parameters (as their annotations are), the score
songs keep theirs; groups stay apart (synth ids, s<N> pieces), so a grouped split never puts a
piece's twin on the other side.
"""
import csv
import json
import sys
from pathlib import Path

from moodmap.research.datasets.synth import plan, write_rated_set
from moodmap.research.datasets.twins import original_path, source_spec
from moodmap.research.datasets.score import SongParams

synth, scores, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
spec = source_spec(synth)
entries = [(original_path(synth, p, spec), p, f"g{p.song_id}") for p in plan(spec)]
fields = SongParams.__dataclass_fields__
with open(scores / "synth_params.csv", newline="") as handle:
    params = {row["song_id"]: row for row in csv.DictReader(handle)}
with open(scores / "manifest.csv", newline="") as handle:
    for row in csv.DictReader(handle):
        p = params[row["song_id"]]
        song = SongParams(**{k: (p[k] if k in ("song_id", "mode") else int(p[k]) if k in ("seed", "key", "progression")
                                else float(p[k])) for k in fields})
        entries.append((Path(row["path"]), song, row["group"]))
record = {"renderer": "soundfont", "combined": [str(synth), str(scores)], "synth": json.loads((synth / "synth.json").read_text()),
          "scores": json.loads((scores / "synth.json").read_text())}
print(write_rated_set(out, entries, record), len(entries), "songs")
