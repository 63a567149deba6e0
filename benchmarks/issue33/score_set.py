"""Issue 33: write a set of real compositions played and labelled as the generator's songs are.

python benchmarks/issue33/score_set.py OUT PIECES SEED [--twins] [--jobs N] [--instruments palette|any]
"""
import argparse
import time

from moodmap.research.datasets.scores import ScoreSpec, write_score_set

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("pieces", type=int)
    parser.add_argument("seed", type=int)
    parser.add_argument("--twins", action="store_true")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--instruments", default="palette", choices=("palette", "any"))
    args = parser.parse_args()
    began = time.monotonic()
    manifest = write_score_set(args.out, ScoreSpec(pieces=args.pieces, seed=args.seed, mode_twins=args.twins,
                                                         instruments=args.instruments),
                               jobs=args.jobs)
    print(f"{manifest} in {time.monotonic() - began:.0f} s")
