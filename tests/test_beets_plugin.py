import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import mutagen
import numpy as np
import pytest

from helpers import tone, write_audio
from moodmap.research.presets import DEFAULT_MODEL
from userlib import make_user_library

beets = pytest.importorskip("beets")


def test_beet_moodmap_stores_flexible_attributes(tmp_path, monkeypatch):
    monkeypatch.setenv("BEETSDIR", str(tmp_path / "beetsdir"))
    from beets.library import Item, Library

    from beetsplug.moodmap import MoodmapPlugin
    from moodmap.inference.registry import resolve
    from moodmap.inference.predict import predict_file
    from moodmap.research.presets import DEFAULT_MODEL

    library = Library(str(tmp_path / "lib.db"))
    songs = {"one.flac": (220.0, 277.2, 329.6), "two.wav": (523.3, 659.3, 784.0)}  # two songs, two moods
    for name, freqs in songs.items():
        library.add(Item.from_path(str(write_audio(tmp_path / name, tone(16.0, 16000, freqs=freqs), 16000))))
    plugin = MoodmapPlugin()
    options = types.SimpleNamespace(model=None, force=None)  # the plugin's default: the shipped model
    assert plugin.analyse(library, options, []) == 2
    predictor = resolve(DEFAULT_MODEL).predictor
    for item in library.items():  # each item holds its own song's prediction, to the three decimals stored
        expected = predict_file(item.path.decode(), predictor, DEFAULT_MODEL)
        assert float(item["valence"]) == pytest.approx(expected.valence, abs=5e-4 + 1e-6)  # typed FLOAT: the plugin
        assert float(item["arousal"]) == pytest.approx(expected.arousal, abs=5e-4 + 1e-6)  # is loaded
        assert (item["mood"], item["mood_quadrant"]) == (expected.emotion, expected.quadrant or "neutral")
    item = library.items("title:one").get() or list(library.items())[0]
    assert len(list(library.items(f"mood:{item['mood']}"))) >= 1
    assert plugin.analyse(library, options, []) == 0  # already analysed
    assert plugin.analyse(library, types.SimpleNamespace(model=None, force=True), []) == 2


# ---- as a user runs it: a real beets library, `beet` as a subprocess ------------------------------------------

BEET = str(Path(sys.executable).parent / "beet")
FIELDS = "$path|$valence|$arousal|$mood|$mood_quadrant"
NOTE = f"moodmap: note: model '{DEFAULT_MODEL}' is demo weights, trained on synthetic music"


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """Music/ with an mp3, a flac and an ogg as a tagger left them, and a damaged mp3 (its tags
    intact, 4 KB of its audio overwritten: beets imports it, libmpg123 complains about it)."""
    folder = tmp_path_factory.mktemp("songs") / "Music"
    names = [("Artist A", "Album", "Song 1"), ("Artist B", "Album", "Song 2"), ("Artist A", "Album", "Song 3")]
    mp3 = make_user_library(folder, seconds=8.0, names=names)[0]
    damaged = bytearray(mp3.read_bytes())
    start = len(damaged) // 4
    damaged[start:start + 4000] = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (mp3.parent / "04 Damaged.mp3").write_bytes(bytes(damaged))
    return folder


def beets_library(songs: Path, folder: Path) -> Path:
    """A user's ``folder``: their Music/ imported as it is into a beets library with moodmap enabled."""
    shutil.copytree(songs, folder / "Music")
    (folder / "beets").mkdir()
    (folder / "beets" / "config.yaml").write_text(
        f"directory: {folder / 'Music'}\nlibrary: {folder / 'beets' / 'library.db'}\nplugins: moodmap\n"
        "ui:\n  color: no\nimport:\n  autotag: no\n  copy: no\n  write: no\n  quiet: yes\n")
    beet("import", "-A", "-C", "Music", cwd=folder)
    return folder


@pytest.fixture
def user(songs, tmp_path) -> Path:
    return beets_library(songs, tmp_path)


@pytest.fixture(scope="module")
def untouched(songs, tmp_path_factory) -> Path:
    """One library for the tests that must leave it as it is."""
    return beets_library(songs, tmp_path_factory.mktemp("untouched"))


def beet(*args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
    """``beet ARGS`` in ``cwd``, with its beets folder; it must exit with ``code`` and show no traceback."""
    done = subprocess.run([BEET, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "BEETSDIR": str(cwd / "beets"), "MOODMAP_DEBUG": ""})
    assert done.returncode == code, f"beet {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def lines(done: subprocess.CompletedProcess) -> list[str]:
    return (done.stdout + done.stderr).splitlines()


def stored(cwd: Path) -> dict[str, str]:
    """File name → what beets holds of its mood, as `beet ls -f` prints it."""
    return {Path(line.split("|")[0]).name: line for line in beet("ls", "-f", FIELDS, cwd=cwd).stdout.splitlines()}


def damage_model(path: Path) -> Path:
    path.write_bytes(np.random.default_rng(2).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return path


@pytest.mark.parametrize("given, said", [
    ("nosuch", "unknown model 'nosuch' (registered: "),
    ("{tmp}/gone.pt", "{tmp}/gone.pt: no such model file"),
    ("{tmp}/damaged.onnx", "{tmp}/damaged.onnx: not a moodmap ONNX model ("),
    ("{tmp}/damaged.pt", "{tmp}/damaged.pt: a PyTorch checkpoint with no registered ONNX form beside it"),
], ids=["unknown name", "missing .pt", "damaged .onnx", "damaged .pt"])
@pytest.mark.parametrize("where", ["option", "config"])
def test_an_unusable_model_is_one_error_line_exit_1_and_nothing_stored(untouched, tmp_path, given, said, where):
    damage_model(tmp_path / "damaged.onnx"), damage_model(tmp_path / "damaged.pt")
    model = given.format(tmp=tmp_path)
    (tmp_path / "model.yaml").write_text(f"moodmap:\n  model: {model}\n")
    how = ["moodmap", "-m", model] if where == "option" else ["-c", str(tmp_path / "model.yaml"), "moodmap"]
    [line] = lines(beet(*how, cwd=untouched, code=1))
    assert line.startswith(f"error: moodmap: {said.format(tmp=tmp_path)}"), line
    assert all(row.endswith("|$valence|$arousal|$mood|$mood_quadrant") for row in stored(untouched).values())


def test_a_file_that_cannot_be_analysed_is_one_line_naming_it_and_its_decoder_says_nothing(user):
    damaged = user / "Music" / "Artist A" / "Album" / "04 Damaged.mp3"
    decoding = subprocess.run(  # the file does make libmpg123 talk, straight to file descriptor 2
        [sys.executable, "-c", "import sys; from moodmap.core.audio import load_excerpts\n"
         "try: load_excerpts(sys.argv[1])\nexcept Exception: pass", str(damaged)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "MOODMAP_DEBUG": ""})
    assert "Note: Illegal Audio-MPEG-Header" in decoding.stderr
    done = beet("moodmap", f"path:{damaged}", cwd=user)  # the one file alone: one worker
    said = lines(done)
    assert len(said) == 3, said  # nothing from libmpg123 between them
    note, failed, summary = said
    assert (note, summary) == (NOTE, "moodmap: stored mood of 0 item(s); 1 could not be analysed")
    assert failed.startswith(f"moodmap: could not analyse {damaged}: DecodeError: not a decodable audio file ("), failed


def test_each_line_beet_moodmap_prints_carries_the_plugin_prefix_once(user):
    said = lines(beet("moodmap", cwd=user))
    assert said[0] == NOTE and said[-1] == "moodmap: stored mood of 3 item(s); 1 could not be analysed", said
    assert len(said) == 3 and said[1].startswith("moodmap: could not analyse ") and "Damaged.mp3" in said[1], said
    assert not [line for line in said if line.startswith("moodmap: moodmap:")]


def test_the_fields_survive_beet_update(user):
    beet("moodmap", cwd=user)
    before = stored(user)
    assert sum("|$valence|" not in row for row in before.values()) == 3
    for path in sorted((user / "Music").rglob("*.*")):  # every file newer, one retitled: beets re-reads them all
        if path.name.startswith("01 "):
            handle = mutagen.File(str(path), easy=True)
            handle["title"] = "Renamed by hand"
            handle.save()
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    updated = beet("update", cwd=user)
    assert "Renamed by hand" in updated.stdout  # it did re-read the files
    assert stored(user) == before
    assert beet("ls", "-f", "$title", "path::01 ", cwd=user).stdout.strip() == "Renamed by hand"


def test_the_fields_survive_beet_write(user):
    beet("moodmap", cwd=user)
    before = stored(user)
    beet("modify", "-y", "-W", "artist=New Artist", "title:Song 2", cwd=user)  # changed in beets, not yet in the file
    written = beet("write", cwd=user)
    assert "New Artist" in written.stdout
    [song] = (user / "Music").rglob("02 *")
    assert mutagen.File(str(song), easy=True)["artist"] == ["New Artist"]
    assert stored(user) == before
    assert beet("write", cwd=user).stdout == ""  # nothing left to write: the mood fields are no file tags to beets
