"""The README and every page under docs/ as a user follows them: every ``$`` command of every
console block runs, in order, in one folder per document (a fresh ``$HOME`` with a ``~/Music``
library in six formats, ``song.mp3`` and ``other.flac`` beside it), with the shipped default
model, and prints what the document shows (how a shown output is matched: ``readme_examples``);
then the document's ```python blocks run, in order, in one namespace, in the same folder.

Commands that take minutes at the size shown run smaller here (REDUCED, PYTHON_REDUCED); the
few that cannot run on a test machine say why (NOT_RUN, or a python block's
``<!-- example: not-run: REASON -->``). Servers run until they have shown what is shown, then
get Ctrl-C, and must exit 0 as a stop asked for. An example that drifts from the program fails
``make test``.
"""
from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from mpd_server import HAVE_MPD, PASSWORD, start_mpd
from readme_examples import Example, PythonBlock, examples, mismatch, python_blocks
from userlib import RATE, make_user_library

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BIN = Path(sys.executable).parent

COMPARE = "moodmap compare build/c744 --models paper,improved --runs 10 --jobs 2 --json compare.json"
# Shown command → what runs here: the same command, smaller (its output is then matched with any numbers);
# their runs train in the command's own process (--jobs 1), not in workers that each import torch again.
REDUCED = {
    "moodmap synth build/s744 --songs 744 --seed 2019": "moodmap synth build/s744 --songs 48 --seed 2019",
    COMPARE: "moodmap compare build/c744 --models paper,improved --runs 2 --epochs 2 --jobs 1 --json compare.json",
    "moodmap train build/cache --out build/run --runs 3 --jobs 2":
        "moodmap train build/cache --out build/run --runs 3 --epochs 2 --jobs 1",
    "moodmap sweep paper build/cache --out build/sweep":
        "moodmap sweep paper build/cache --out build/sweep --runs 1 --epochs 1 --only dropout --jobs 1",
    "moodmap train cache/ --config improved --out runs/deam --runs 10 --jobs 2 && moodmap export runs/deam --name deam":
        "moodmap train cache/ --config improved --out runs/deam --runs 1 --epochs 1 --jobs 1 "
        "&& moodmap export runs/deam --name deam",
    "moodmap synth build/sf1000 --songs 1000 --seed 11 --renderer soundfont":
        "moodmap synth build/sf1000 --songs 3 --seconds 16 --seed 11 --renderer soundfont",
    "moodmap train build/csf1000 --config improved --out build/ship-improved --runs 4 --jobs 2":
        "moodmap train build/csf1000 --config improved --out build/ship-improved --runs 1 --epochs 1 --jobs 1",
    "moodmap synth build/s1000 --songs 1000 --seed 5": "moodmap synth build/s1000 --songs 3 --seconds 16 --seed 5",
    "moodmap train build/c1000 --out build/ship-paper --runs 3 --jobs 2 --set recalibrate_batchnorm=true":
        "moodmap train build/c1000 --out build/ship-paper --runs 1 --epochs 1 --jobs 1 --set recalibrate_batchnorm=true",
}
# What a reduced run prints differently from the full one, though the program is the same: its text → the shown text.
REDUCED_WORDING = {COMPARE: {"not significant at 0.05": "significant at 0.05"}}
# Shown command → why it does not run here.
NOT_RUN = {
    "pip install 'moodmap[web]'": "make test installs every extra",
    "pip install 'moodmap[ray]'": "make test installs every extra",
    "moodmap download deam --to data/DEAM": "needs the internet (tests/test_download.py runs it against a local "
                                            "server); a stand-in DEAM folder is made instead",
    "moodmap scan /shared/music --db library.sqlite --engine ray --address auto": "needs a Ray cluster",
    "moodmap prepare /shared/data/DEAM --out /shared/cache --engine ray --address auto": "needs a Ray cluster",
    "moodmap sweep paper /shared/cache --out sweep/ --runs 10 --engine ray --address auto": "needs a Ray cluster",
}
# Servers: run until they have printed what is shown, then stopped with Ctrl-C: a stop asked for, exit 0.
LONG_RUNNING = {"moodmap serve --db library.sqlite"}
# A line of a python block → what runs here instead (the same call, smaller).
PYTHON_REDUCED = {
    'summary = train_runs("cache/", ModelConfig(), TrainConfig(split="grouped"), runs=10, out="run/", jobs=2)':
        'summary = train_runs("cache/", ModelConfig(), TrainConfig(split="grouped", epochs=1), runs=1, out="run/", '
        'jobs=2)',
}
NEEDS_FLUIDSYNTH = "--renderer soundfont"

ARTISTS = {"Nina Solé": "Blue Hours", "Low Tide": "Shorelines", "Brass Engine": "Full Steam",
           "The Quiet Hours": "Lamplight"}
TITLES = ["Morning Light", "Clair de Lune", "Undertow", "Copper Sky", "Paper Boats", "Night Drive", "Slow Motion",
          "Wildfire", "Harbour", "Static", "Lanterns", "Afterglow", "Glass Rain", "Northbound", "Velvet",
          "Falling Up", "Ember", "Tidal", "Quiet Storm", "Gold Rush", "Drift", "Signal Fire", "Blue Hour",
          "Homecoming"]
LIBRARY = [(artist, ARTISTS[artist], title) for artist, title in zip(list(ARTISTS) * 6, TITLES)]

# Examples that start a private Ray (~20 s): run by `make test-slow`.
SLOW = {"moodmap scan ~/Music --db library.sqlite --engine ray"}

# Headings at which a document starts a new walk: what follows builds on nothing before it (the
# library owner starts from their music, not from what the predict examples made), so it runs
# in a folder of its own and may run beside the walk before it.
WALKS = {"docs/library/commands.md": ("## `moodmap scan` — index a music library",),
         # compare makes its own 744-song set; the shipped models' recipes make theirs
         "docs/research/guide.md": ("## `moodmap compare` — models side by side, on identical splits",
                              "## The shipped models, and how to make your own")}
# Walks (by their index in WALKS: 0 is the document's start) that `make test-slow` runs: research.md's
# compare walk (a 48-song set, two models trained twice) and its shipped models' recipes (two sets made,
# three trainings), ~70 s of a worker; make test keeps research.md's own walk from synth to report.
SLOW_WALKS = {"docs/research/guide.md": (1, 2)}


@functools.lru_cache(maxsize=None)
def walk_starts(doc: Path) -> tuple[int, ...]:
    """The 1-based line numbers of ``doc``'s walk headings (read once: every example asks)."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    return tuple(n for n, text in enumerate(lines, 1) if text.strip() in WALKS.get(str(doc.relative_to(ROOT)), ()))


def walk(doc: Path, line: int) -> int:
    """Which walk of ``doc`` its line ``line`` belongs to (0: the document's start)."""
    return sum(start <= line for start in walk_starts(doc))


def walk_text(doc: Path, index: int) -> str:
    """The part of ``doc`` that walk ``index`` covers."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    bounds = [1, *walk_starts(doc), len(lines) + 1]
    return "\n".join(lines[bounds[index] - 1:bounds[index + 1] - 1])


def group(doc: Path, line: int) -> pytest.MarkDecorator:
    """A walk's examples build on each other (a library scanned, then tagged, then listed): under
    pytest-xdist (make test runs two workers) they stay on one worker, in order. (By the document's
    path: docs/research/paper-reproduction/README.md is not the README.)"""
    return pytest.mark.xdist_group(f"{doc.relative_to(ROOT)}#{walk(doc, line)}")


def line_of(source: str) -> int:
    return int(source.rsplit(":", 1)[1])


ALL = [(doc, example) for doc in DOCS for example in examples(doc, ROOT)]


def slow(doc: Path, example: Example) -> bool:
    """Run by `make test-slow` (CI runs both): a Ray example, or one of a walk in SLOW_WALKS."""
    return example.command in SLOW or walk(doc, line_of(example.source)) in SLOW_WALKS.get(
        str(doc.relative_to(ROOT)), ())


PARAMS = [pytest.param(doc, example, id=example.id,
                       marks=[group(doc, line_of(example.source)), *([pytest.mark.slow] if slow(doc, example) else []),
                                     *([pytest.mark.ray] if example.command in SLOW else [])])
          for doc, example in ALL]
# A page's python blocks run together, after its commands (collected after them) when in the same walk.
PYTHON = [(doc, blocks) for doc in DOCS if (blocks := python_blocks(doc, ROOT))]
PYTHON_PARAMS = [pytest.param(doc, blocks, id=str(doc.relative_to(ROOT)), marks=[group(doc, blocks[0].line)])
                 for doc, blocks in PYTHON]


def deam_standin(root: Path) -> None:
    """What `moodmap download deam` unpacks, in miniature: DEAM's annotation file and MEMD_audio mp3s."""
    from moodmap.research.datasets.synth import SynthSpec, write_synth_dataset

    made = write_synth_dataset(root.parent / ".deam-render", SynthSpec(songs=6, seed=2015, seconds=20), jobs=1)
    audio = root / "MEMD_audio"
    audio.mkdir(parents=True)
    for path in made:
        import soxr

        mono, rate = sf.read(path, dtype="float32")
        sf.write(audio / f"{path.stem}.mp3", soxr.resample(mono, rate, RATE), RATE, format="MP3")
    labels = list(csv.DictReader(open(root.parent / ".deam-render" / "annotations" / "static_annotations.csv")))
    song_level = root / "annotations" / "annotations averaged per song" / "song_level"
    song_level.mkdir(parents=True)
    with open(song_level / "static_annotations_averaged_songs_1_2000.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["song_id", "valence_mean", "valence_std", "arousal_mean", "arousal_std"])
        for row in labels:
            row = {k.strip(): v.strip() for k, v in row.items()}
            writer.writerow([row["song_id"], row["mean_valence"], row["std_valence"], row["mean_arousal"],
                             row["std_arousal"]])
    shutil.rmtree(root.parent / ".deam-render")


# A walk that talks to MPD (docs/library/servers/mpd.md's stickers) gets one of its own over its ~/Music (tests/mpd_server.py):
# MPD_HOST (its password @ localhost) and MPD_PORT in that walk's environment, as a user's MPD would be.
NEEDS_MPD = ("moodmap integrate mpd", "mpc ")
MPD_ENVIRONMENT: dict[Path, dict[str, str]] = {}


def _user_music(folder: Path) -> Path:
    """The docs' ~/Music (24 songs of 45 s in six formats), and which of its files become song.mp3
    and other.flac (the first of each format, in LIBRARY's order) in first.json beside it."""
    songs = make_user_library(folder / "Music", seconds=45.0, names=LIBRARY)
    first = {suffix: str(next(p for p in songs if p.suffix == suffix).relative_to(folder))
             for suffix in (".mp3", ".flac")}
    (folder / "first.json").write_text(json.dumps(first), encoding="utf-8")
    return folder / "Music"


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory, request, built_once):
    """One folder per walk of a document, made when its first example runs (the music is made once
    per test run, whichever worker asks first)."""
    made: dict[tuple[Path, int], Path] = {}

    def sandbox(doc: Path, line: int) -> Path:
        key = (doc, walk(doc, line))
        if key not in made:
            music = built_once("readme-music", _user_music)
            first = json.loads((music.parent / "first.json").read_text(encoding="utf-8"))
            root = tmp_path_factory.mktemp(f"{doc.stem}-{key[1]}")
            shutil.copytree(music, root / "home" / "Music")
            shutil.copy(music.parent / first[".mp3"], root / "song.mp3")
            shutil.copy(music.parent / first[".flac"], root / "other.flac")
            text = walk_text(doc, key[1])
            if "data/DEAM" in text:
                deam_standin(root / "data" / "DEAM")
            if '"emoMusic/"' in text:  # the Python API's data set, in miniature
                from moodmap.research.datasets.synth import SynthSpec, write_synth_dataset

                write_synth_dataset(root / "emoMusic", SynthSpec(songs=6, seed=2013, seconds=45), jobs=1)
            if HAVE_MPD and any(e.command.startswith(NEEDS_MPD) for e in examples(doc, ROOT)
                                if walk(doc, line_of(e.source)) == key[1]):
                (root / "mpd").mkdir()
                server = start_mpd(root / "mpd", root / "home" / "Music")
                request.addfinalizer(server.stop)
                MPD_ENVIRONMENT[root] = {"MPD_HOST": f"{PASSWORD}@localhost", "MPD_PORT": str(server.port)}
            made[key] = root
        return made[key]

    return sandbox


def environment(cwd: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MOODMAP_MODELS", "XDG_DATA_HOME", "COLUMNS")}
    return {**env, "HOME": str(cwd / "home"), "PATH": f"{BIN}{os.pathsep}{env['PATH']}", **MPD_ENVIRONMENT.get(cwd, {})}


def run(command: str, cwd: Path, long_running: bool, shown: list[str]) -> tuple[int, str, str]:
    if not long_running:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=environment(cwd), capture_output=True,
                              text=True, timeout=600)
        return done.returncode, done.stdout, done.stderr
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=environment(cwd),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while len(lines) < len([s for s in shown if s.strip()]) and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
    running = process.poll() is None
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert running, f"`{command}` ended by itself (exit {process.returncode}) instead of running until Ctrl-C\n{err}"
    return process.returncode, "".join(lines) + out, err


@pytest.mark.parametrize("doc,example", PARAMS)
def test_console_example(doc: Path, example: Example, sandboxes):
    if example.command in NOT_RUN:
        pytest.skip(f"not run here: {NOT_RUN[example.command]}")
    if NEEDS_FLUIDSYNTH in example.command and not shutil.which("fluidsynth"):
        pytest.skip("needs fluidsynth + fluid-soundfont-gm (make soundfont)")
    if example.command.startswith(NEEDS_MPD) and not HAVE_MPD:
        pytest.skip("needs Debian's mpd and mpc (make player-deps)")
    cwd = sandboxes(doc, line_of(example.source))
    command = REDUCED.get(example.command, example.command)
    code, out, err = run(command, cwd, example.command in LONG_RUNNING, example.shown)
    assert code == 0, f"{example.source}: `{command}` exited {code}\n{out}\n{err}"
    assert "Traceback" not in out + err, err
    any_numbers = example.any_numbers or example.command in REDUCED
    for reduced, shown in REDUCED_WORDING.get(example.command, {}).items():
        out = out.replace(reduced, shown)
    shown_out = [line for line in example.shown if not line.startswith("moodmap:")]
    shown_err = [line for line in example.shown if line.startswith("moodmap:")]
    if example.shown:
        problem = mismatch(shown_out, out.splitlines(), any_numbers)
        assert problem is None, f"{example.source}: `{command}` printed other than shown\n{problem}"
    for line in shown_err:
        assert any(mismatch([line], [actual], any_numbers) is None for actual in err.splitlines()), \
            f"{example.source}: `{command}` did not say {line!r} on stderr:\n{err}"


# Runs a page's python blocks in order in one namespace, as a reader would in one session; a failing
# block's traceback names the document and its line.
DRIVER = """
import json, sys, traceback
namespace = {"__name__": "__main__"}
for source, line, code in json.loads(sys.argv[1]):
    try:
        exec(compile("\\n" * (line - 1) + code, source.rsplit(":", 1)[0], "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"the python block at {source} failed")
"""


@pytest.mark.parametrize("doc,blocks", PYTHON_PARAMS)
def test_python_examples(doc: Path, blocks: list[PythonBlock], sandboxes):
    cwd = sandboxes(doc, blocks[0].line)
    runs = [block for block in blocks if block.not_run is None]
    if not runs:
        pytest.skip("not run here: " + "; ".join(f"{b.source}: {b.not_run}" for b in blocks))
    code = [(b.source, b.line, _reduced(b.code)) for b in runs]
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(code)], cwd=cwd, env=environment(cwd),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{doc.relative_to(ROOT)}'s python:\n{done.stdout}\n{done.stderr}"


def _reduced(code: str) -> str:
    for shown, smaller in PYTHON_REDUCED.items():
        code = code.replace(shown, smaller)
    return code


def test_every_reduced_or_skipped_command_is_still_in_the_docs():
    commands = {example.command for _, example in ALL}
    listed = set(REDUCED) | set(NOT_RUN) | set(REDUCED_WORDING) | LONG_RUNNING | SLOW
    assert listed <= commands, listed - commands
    code = "".join(block.code for _, blocks in PYTHON for block in blocks if block.not_run is None)
    assert all(line in code for line in PYTHON_REDUCED), [line for line in PYTHON_REDUCED if line not in code]


def test_every_walk_starts_at_a_heading_that_is_there():
    for name, headings in WALKS.items():
        lines = [line.strip() for line in (ROOT / name).read_text(encoding="utf-8").splitlines()]
        assert all(lines.count(heading) == 1 for heading in headings), (name, headings)
    assert [walk(ROOT / "docs/library/commands.md", line_of(e.source)) for d, e in ALL
            if str(d.relative_to(ROOT)) == "docs/library/commands.md"][::-1][0] == 1
    for name, indices in SLOW_WALKS.items():  # a slow walk is one WALKS starts, never the document's first
        assert set(indices) <= set(range(1, len(WALKS[name]) + 1)), (name, indices)
        assert any(not slow(d, e) for d, e in ALL if str(d.relative_to(ROOT)) == name), name


def test_the_docs_are_collected_from_every_folder_under_docs():
    assert ROOT / "docs" / "research" / "paper-reproduction" / "README.md" in DOCS
    assert [str(doc.relative_to(ROOT)) for doc, _ in PYTHON] == ["docs/reference/python-api.md"]  # the Python API's example


def test_a_python_block_that_does_not_run_says_why(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n```python\nx = 1\n```\n<!-- example: not-run: needs a GPU -->\n```python\ngpu()\n```\n"
                    "<!-- example: not-run -->\n```python\ny = 2\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="page.md:11: unknown directive 'not-run'"):
        python_blocks(page, tmp_path)  # no reason given
    page.write_text(page.read_text(encoding="utf-8").replace("<!-- example: not-run -->\n", ""), encoding="utf-8")
    blocks = python_blocks(page, tmp_path)
    assert [(b.source, b.code, b.not_run) for b in blocks] == [("page.md:3", "x = 1\n", None),
                                                               ("page.md:7", "gpu()\n", "needs a GPU"),
                                                               ("page.md:10", "y = 2\n", None)]


def test_the_matcher_catches_a_changed_example():
    shown = ["wrote 60 songs of 45 s to build/synth", "│ 1 │ 81.flac │ 0.601 │ calm │"]
    assert mismatch(shown, ["wrote 60 songs of 45 s to build/synth", "│ 1 │ 81.flac │ 0.602 │ calm │"], False) is None
    assert mismatch(shown, ["wrote 60 songs of 45 s to build/synth", "│ 1 │ 81.flac │ 0.612 │ calm │"], False)
    assert mismatch(shown, ["wrote 60 songs to build/synth", "│ 1 │ 81.flac │ 0.601 │ calm │"], False)
    assert mismatch(shown, ["wrote 60 songs of 45 s to build/synth"], False)
    assert mismatch(["…", "done"], ["a", "b", "done"], False) is None
    assert mismatch(["done"], ["done", "and more"], False)
