"""Issue 33: one manifest set of a `moodmap synth` set's songs and a rendered-score set's songs.

python benchmarks/issue33/combine.py SYNTH_SET SCORE_SET [SCORE_SET ...] OUT
The synth songs are labelled by rate() of their parameters (as their annotations are), the score
songs keep theirs; groups stay apart (g<id> for synth songs; a score set's pieces named after its
folder when several are combined), so a grouped split never puts a piece's twin on the other side.
"""
import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

from moodmap.research.datasets.synth import plan, write_rated_set
from moodmap.research.datasets.twins import original_path, source_spec
from moodmap.research.datasets.score import SongParams

synth, out = Path(sys.argv[1]).resolve(), Path(sys.argv[-1])
score_sets = [Path(a).resolve() for a in sys.argv[2:-1]]
out.mkdir(parents=True, exist_ok=True)
spec = source_spec(synth)
entries = [(original_path(synth, p, spec), p, f"g{p.song_id}") for p in plan(spec)]
fields = SongParams.__dataclass_fields__
for scores in score_sets:
    prefix = f"{scores.name}-" if len(score_sets) > 1 else ""
    with open(scores / "synth_params.csv", newline="") as handle:
        params = {row["song_id"]: row for row in csv.DictReader(handle)}
    with open(scores / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            p = params[row["song_id"]]
            song = SongParams(**{k: (p[k] if k in ("song_id", "mode") else int(p[k]) if k in ("seed", "key", "progression")
                                    else float(p[k])) for k in fields})
            entries.append((Path(row["path"]), replace(song, song_id=prefix + song.song_id), prefix + row["group"]))
record = {"renderer": "soundfont", "combined": [str(synth), *map(str, score_sets)],
          "synth": json.loads((synth / "synth.json").read_text()),
          "scores": [json.loads((scores / "synth.json").read_text()) for scores in score_sets]}
print(write_rated_set(out, entries, record), len(entries), "songs")
