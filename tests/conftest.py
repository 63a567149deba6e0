"""Shared fixtures: tiny audio made on the fly, and a small synthetic data set."""
from __future__ import annotations

import os

# Under pytest-xdist every worker is a process of its own: OpenMP's default (a thread per core in
# each of them, and in every program a test starts) puts 2 x 2 spinning threads on 2 cores, and the
# torch tests ran twice as long. A worker's share of the cores it is; a command that sets its own
# thread count (train --jobs 1 takes every core) still does. Set before anything imports torch.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, str(_share))

# A suite started in the background by a shell without job control (`make test &`, a CI step run
# with `&`) inherits SIGINT ignored, and so would every program it starts: the tests that stop a
# watcher with Ctrl-C (SIGINT) would then wait for a process that never hears it. Ignored is the
# shell's choice for its background jobs, not a user's at a terminal, whom these tests play.
import signal  # noqa: E402

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a handler, so programs started here get SIG_DFL

# The imports below come after the thread settings on purpose.
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from moodmap.research.datasets.synth import SynthSpec, write_synth_dataset  # noqa: E402

from helpers import tone, write_audio  # noqa: E402


def pytest_configure(config):
    """On a fresh venv, librosa's first import compiles its numba functions (~15 s) and writes them to
    numba's cache; both xdist workers did that at once (30 s of the cores). The run's first process
    starts it in the background, once, while the workers collect; a run that finds the cache starts
    nothing."""
    import importlib.util
    import subprocess
    import sys

    librosa = importlib.util.find_spec("librosa")
    if hasattr(config, "workerinput") or librosa is None:
        return
    cache = Path(librosa.origin).parent / "util" / "__pycache__"
    if not any(cache.glob("utils._cabs2-*.nbi")):
        subprocess.Popen([sys.executable, "-c", "import librosa.util.utils, librosa.core.pitch, librosa.core.audio"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# Modules whose tests import librosa in the test process: run last, so that the background warm-up above has
# written numba's cache before they import it (in the order collected, they came first and compiled it twice).
LIBROSA_MODULES = {"test_features.py", "test_real_music_check.py", "test_twins.py"}


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name in LIBROSA_MODULES)  # stable: the order within each part is kept


# pytest-xdist's workers set COLUMNS=80; the installed program run by a test must see what a user's
# pipe gives it (no COLUMNS), or its tables are cut to 80 columns under xdist only.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


@pytest.fixture
def make_audio(tmp_path):
    """make_audio(name, seconds, rate=…, channels=…) → path of a fresh tone file."""
    def make(name: str, seconds: float = 3.0, rate: int = 22050, channels: int = 1, **kw) -> Path:
        return write_audio(tmp_path / name, tone(seconds, rate, channels=channels, **kw), rate)
    return make


@pytest.fixture(scope="session")
def built_once(tmp_path_factory, request):
    """built_once(name, build) → the folder ``build(folder)`` filled, made once per test run.

    Under pytest-xdist each worker has its own session, so a plain session fixture is built
    once per worker; this one is built by the first worker that asks, under a lock, in the
    folder all workers of the run share, and the others wait for it and reuse it. ``build``
    returns a path inside the folder (what the fixture hands out)."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    # an xdist worker's own folder sits in the run's; without xdist (`-p no:xdist`: mutation
    # testing) there is no worker_id fixture and the run's folder is this one
    shared = shared.parent if hasattr(request.config, "workerinput") else shared

    def once(name: str, build) -> Path:
        folder, done = shared / f"shared-{name}", shared / f"shared-{name}.done"
        with FileLock(str(shared / f"shared-{name}.lock")):
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                done.write_text(str(Path(build(folder)).relative_to(folder)), encoding="utf-8")
        return folder / done.read_text(encoding="utf-8")

    return once


@pytest.fixture(scope="session")
def synth_set(built_once) -> Path:
    """Twelve synthetic 45 s songs in the emoMusic layout (shared by every test and worker, read-only)."""
    def build(folder: Path) -> Path:
        write_synth_dataset(folder / "set", SynthSpec(songs=12, seed=3), jobs=1)
        return folder / "set"

    return built_once("synth", build)


@pytest.fixture(scope="session")
def synth_cache(synth_set, built_once) -> Path:
    """The twelve synthetic songs prepared into a feature cache (shared, read-only)."""
    from moodmap.research.cache import prepare_cache
    from moodmap.research.datasets import load_emomusic

    return built_once("cache", lambda folder: prepare_cache(load_emomusic(synth_set), folder, jobs=1).cache)


@pytest.fixture(scope="session")
def exported(synth_cache, built_once):
    """A tiny model trained on the synthetic cache, exported into a private weights folder: (path, folder)."""
    from moodmap.core.config import ModelConfig, TrainConfig
    from moodmap.research.models.card import export_run
    from moodmap.research.train import train_runs

    def build(root: Path) -> Path:
        train_runs(synth_cache, ModelConfig(filters=4), TrainConfig(epochs=1, batch_size=8), 2, root / "run")
        return export_run(root / "run", "tiny", root / "weights")

    path = built_once("model", build)
    return path, path.parent


@pytest.fixture(scope="session")
def tagged(tmp_path_factory) -> Path:
    """Twelve songs in six formats, scanned with --write-tags, and every mood's playlists written
    three ways: M3U8 inside the music folder, M3U in MPD's playlist_directory, .nsp beside them
    (tests/test_mpd.py and test_mpd_stickers.py; their xdist group keeps them on one worker)."""
    import subprocess
    import sys

    from userlib import make_user_library

    def moodmap(*args: str) -> None:
        done = subprocess.run([str(Path(sys.executable).parent / "moodmap"), *args], cwd=root, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    root = tmp_path_factory.mktemp("mpd")
    names = [(f"Artist {i % 3}", f"Album {i % 2}", f"Song {i}") for i in range(12)]
    make_user_library(root / "music", seconds=16.0, seed=11, names=names)
    moodmap("scan", "music", "--db", "lib.sqlite", "--write-tags")
    moodmap("playlist-folder", "--all-moods", "--db", "lib.sqlite", "--to", "music/Playlists")
    moodmap("playlist-folder", "--all-moods", "--db", "lib.sqlite", "--to", "playlists", "--format", "m3u",
            "--music-dir", "music")
    return root


@pytest.fixture(scope="session")
def mpd(tagged):
    """Debian's MPD over ``tagged`` (tests/mpd_server.py: a socket in the folder, 127.0.0.1 at a free
    port, a sticker database, a password for admin commands); stopped after the session. Call it with
    mpc's arguments."""
    from mpd_server import HAVE_MPD, start_mpd

    if not HAVE_MPD:
        pytest.skip("needs Debian's mpd and mpc (make test installs them)")
    server = start_mpd(tagged, tagged / "music", tagged / "playlists")
    yield server
    server.stop()
