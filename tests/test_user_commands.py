"""Every command as a user types it: the installed ``moodmap`` program, default options, the
shipped default model, a library of real-format files (mp3, flac, ogg, opus, m4a, wav).

The last release passed 320 tests while ``moodmap predict song.mp3`` crashed with the shipped
model: every test had given its own checkpoint. Nothing here does.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from helpers import free_port
from moodmap.cli import app
from moodmap.research.presets import DEFAULT_MODEL
from userlib import FORMATS, make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")
BEET = str(Path(sys.executable).parent / "beet")
NOTE = f"moodmap: note: model '{DEFAULT_MODEL}' is demo weights, trained on synthetic music"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A user's folder with ``Music/`` holding six songs, one per format (read-only for tests)."""
    home = tmp_path_factory.mktemp("home")
    make_user_library(home / "Music")
    return home


@pytest.fixture
def music(home) -> list[Path]:
    return sorted((home / "Music").rglob("*.*"))


@pytest.fixture(scope="module")
def expected(home) -> dict[str, object]:
    """What this process predicts for each song (file name → Prediction) with the shipped default model:
    what every command must print, store or serve for that song."""
    from moodmap.inference.registry import resolve
    from moodmap.inference.predict import predict_file

    predictor = resolve(DEFAULT_MODEL).predictor
    return {p.name: predict_file(p, predictor, DEFAULT_MODEL) for p in sorted((home / "Music").rglob("*.*"))}


def assert_predicted(expected, name: str, valence: float, arousal: float, tolerance: float = 1e-4) -> None:
    """The values a command gave for song ``name`` are its own (not another song's, not swapped, not rounded off)."""
    want = expected[name]
    assert abs(valence - want.valence) <= tolerance and abs(arousal - want.arousal) <= tolerance, \
        f"{name}: got ({valence}, {arousal}), predicted ({want.valence}, {want.arousal})"


def table_rows(text: str) -> dict[str, list[str]]:
    """The cells of a printed table's rows, by their first cell."""
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]
    return {row[0]: row for row in cells}


def moodmap(*args: str, cwd: Path, ok: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed program; by default require exit 0, no traceback and nothing on stderr
    but notes (the demo-weights one, a short playlist's)."""
    done = subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    if ok:
        assert done.returncode == 0, f"moodmap {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr
        assert all(line.startswith("moodmap: note: ") for line in done.stderr.splitlines()), done.stderr
    return done


def command_paths(command=None, prefix=()) -> list[tuple[str, ...]]:
    """Every command and subcommand of the CLI, as argument prefixes."""
    command = command or typer.main.get_command(app)
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, (*prefix, name))
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "moodmap")
def test_every_command_has_help(path):
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_help_of_the_installed_program(tmp_path):
    assert "predict" in moodmap("--help", cwd=tmp_path).stdout


@pytest.mark.parametrize("options", [(), ("--format", "json"), ("--format", "csv"), ("--timeline",),
                                     ("--plot", "mood.png")], ids=lambda o: " ".join(o) or "table")
def test_predict_every_format_with_the_default_model(home, music, expected, tmp_path, options):
    assert sorted(p.suffix[1:] for p in music) == sorted(FORMATS)
    done = moodmap("predict", *map(str, music), *options, cwd=tmp_path)
    assert NOTE in done.stderr  # the weights say what they are
    if options[:2] == ("--format", "json"):
        rows = json.loads(done.stdout)
        assert [r["path"] for r in rows] == [str(p) for p in music]
        assert {r["model"] for r in rows} == {DEFAULT_MODEL}
        for row in rows:
            assert_predicted(expected, Path(row["path"]).name, row["valence"], row["arousal"])
            assert (row["quadrant"], row["emotion"]) == (expected[Path(row["path"]).name].quadrant,
                                                         expected[Path(row["path"]).name].emotion)
    elif options[:2] == ("--format", "csv"):
        lines = done.stdout.splitlines()
        assert lines[0].startswith("path,valence,arousal") and len(lines) == 1 + len(music)
        for row in csv.DictReader(lines):
            assert_predicted(expected, Path(row["path"]).name, float(row["valence"]), float(row["arousal"]))
    else:
        rows = table_rows(done.stdout)  # file │ valence │ arousal │ …, three decimals
        assert set(rows) == {path.name for path in music}, done.stdout
        for name, cells in rows.items():
            assert_predicted(expected, name, float(cells[1]), float(cells[2]), tolerance=5e-4 + 1e-6)
        assert f"model {DEFAULT_MODEL}" in done.stdout
    if "--plot" in options:
        assert (tmp_path / "mood.png").stat().st_size > 10_000


def test_predict_a_file_that_is_not_there_says_so_in_one_line(tmp_path):
    done = moodmap("predict", "song.mp3", cwd=tmp_path, ok=False)
    assert done.returncode == 2 and "song.mp3" in done.stderr and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line != NOTE] == ["moodmap: failed song.mp3: no such file"]


def test_scan_library_playlist_and_map_with_their_defaults(home, music, expected, tmp_path):
    user = tmp_path / "user"
    shutil.copytree(home, user)
    before = {p: p.read_bytes() for p in (user / "Music").rglob("*.*")}
    mine = {"HOME": str(user), "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "MOODMAP_DB": ""}  # the user's own index
    index = user / ".local/share/moodmap/library.sqlite"
    scan = moodmap("scan", "Music", cwd=user, env=mine)
    assert f"{len(music)} files: {len(music)} analysed" in scan.stdout and "0 failed" in scan.stdout
    assert index.exists() and not (user / "library.sqlite").exists()
    assert {p: p.read_bytes() for p in (user / "Music").rglob("*.*")} == before  # no tag written unasked
    again = moodmap("scan", "Music", cwd=user, env=mine)
    assert f"0 analysed, {len(music)} unchanged" in again.stdout
    assert f"{len(music)} songs, 0 failures" in moodmap("library", "stats", cwd=user, env=mine).stdout
    export = moodmap("library", "export", cwd=user / "Music", env=mine).stdout.splitlines()  # from anywhere
    assert len(export) == 1 + len(music) and "Song 2" in "\n".join(export)
    for row in csv.DictReader(export):  # what the index stored for each song
        assert_predicted(expected, Path(row["path"]).name, float(row["valence"]), float(row["arousal"]))
    listing = moodmap("playlist", cwd=user, env=mine).stdout
    assert f"{len(music)} songs in {index}" in listing
    mood = next(line.split("playlist --mood ")[1].split()[0] for line in listing.splitlines() if "playlist --mood " in line)
    playlist = moodmap("playlist", "--mood", mood, cwd=user, env=mine).stdout
    assert playlist.startswith(mood)
    assert "songs drawn → map.html" in moodmap("map", cwd=user, env=mine).stdout
    page = (user / "map.html").read_text()
    assert "MoodMap.create" in page and all(f"Song {i}" in page for i in (1, 2, 3, 4, 5))  # the wav has no tags
    moodmap("map", "-o", "map.png", cwd=user, env=mine)
    assert (user / "map.png").read_bytes()[:4] == b"\x89PNG"


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _upload(url: str, path: Path) -> dict:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def start_server(*args: str, cwd: Path) -> tuple[subprocess.Popen, str, dict]:
    """``moodmap serve`` on a free port: the process, its address, its /api/health."""
    port = free_port()
    server = subprocess.Popen([MOODMAP, "serve", "--port", str(port), *args], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            return server, base, json.loads(_get(f"{base}/api/health"))
        except OSError:
            assert server.poll() is None, server.communicate()
            time.sleep(0.1)
    server.kill()
    pytest.fail("moodmap serve did not answer within 30 s")


def stop_server(server: subprocess.Popen, how: int = signal.SIGTERM) -> tuple[str, str]:
    """Signal the server; its output ends only when its workers (which share its pipes) end too."""
    server.send_signal(how)
    try:
        return server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        for child in subprocess.run(["pgrep", "-f", "multiprocessing.spawn"], capture_output=True,
                                    text=True).stdout.split():
            os.kill(int(child), signal.SIGKILL)
        pytest.fail(f"moodmap serve or its workers still ran 30 s after signal {how}")


@pytest.mark.parametrize("with_db", [False, True], ids=["predictions only", "with a library"])
def test_serve_with_its_defaults_answers_uploads_of_every_format(home, music, expected, tmp_path, with_db):
    cwd, args = tmp_path, []
    if with_db:
        shutil.copytree(home, cwd := tmp_path / "user")
        moodmap("scan", "Music", "--db", "library.sqlite", cwd=cwd)
        args = ["--db", "library.sqlite"]
    server, base, health = start_server(*args, cwd=cwd)
    try:
        assert health["default_model"] == DEFAULT_MODEL and health["songs"] == (len(music) if with_db else 0)
        for path in music:
            result = _upload(f"{base}/api/predict", path)
            assert result["model"] == DEFAULT_MODEL and result["filename"] == path.name, result
            assert_predicted(expected, path.name, result["valence"], result["arousal"])
            assert result["note"] == "demo weights, trained on synthetic music"
        assert b"<html" in _get(base + "/").lower()
    finally:
        out, err = stop_server(server)
    assert "Traceback" not in out + err, err


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["Ctrl-C", "SIGTERM", "kill -9"])
def test_a_stopped_server_leaves_no_workers_behind(tmp_path, how):
    server, _, _ = start_server(cwd=tmp_path)
    _, err = stop_server(server, how)  # fails when a worker outlives the server
    if how != signal.SIGKILL:  # a stop asked for says nothing (no "leaked semaphore objects" warning)
        assert err == "", err


def test_ctrl_c_as_soon_as_the_address_is_shown_stops_cleanly(tmp_path):
    """What a user (and the README example) does: start serve, see its address, press Ctrl-C.
    The address was printed before the workers started, and a Ctrl-C then hung the exit."""
    server = subprocess.Popen([MOODMAP, "serve", "--port", str(free_port())], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert server.stdout.readline().startswith("moodmap at http://127.0.0.1:")
    _, err = stop_server(server, signal.SIGINT)
    assert server.returncode == 0 and err == "", err


def test_an_internal_error_is_one_line_unless_debugging(monkeypatch, tmp_path):
    import moodmap.inference.predict

    def broken(*args, **kwargs):
        raise ValueError("an odd\nproblem")

    monkeypatch.setattr(moodmap.inference.predict, "predict", broken)
    monkeypatch.setenv("MOODMAP_DEBUG", "")  # recorded, so the "1" --debug sets below is undone after the test
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "song.mp3")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if not line.startswith("moodmap: note:")]
    assert lines == ["moodmap: internal error: ValueError: an odd problem — please report it; "
                     "rerun with --debug for the traceback"]
    debug = CliRunner().invoke(app, ["--debug", "predict", str(tmp_path / "song.mp3")])
    assert isinstance(debug.exception, ValueError)
    monkeypatch.setenv("MOODMAP_DEBUG", "1")
    assert isinstance(CliRunner().invoke(app, ["predict", str(tmp_path / "song.mp3")]).exception, ValueError)


def beet(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([BEET, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "BEETSDIR": str(cwd / "beets")})
    assert done.returncode == 0, f"beet {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_the_beets_plugin_in_a_real_beets_library(home, music, tmp_path):
    shutil.copytree(home, tmp_path / "user")
    user = tmp_path / "user"
    (user / "beets").mkdir()
    (user / "beets" / "config.yaml").write_text(
        f"directory: {user / 'beets-music'}\nlibrary: {user / 'beets' / 'library.db'}\nplugins: moodmap\n"
        "import:\n  autotag: no\n  copy: no\n  write: no\n  quiet: yes\n")
    beet("import", "-A", "-C", "Music", cwd=user)
    assert len(beet("ls", "-p", cwd=user).stdout.splitlines()) == len(music)
    analysed = beet("moodmap", cwd=user)
    assert "demo weights" in analysed.stdout + analysed.stderr
    listing = beet("ls", "-f", "$path|$valence|$arousal|$mood", cwd=user).stdout.splitlines()
    stored = {Path(p).name: (float(v), float(a), m) for p, v, a, m in (line.split("|") for line in listing)}
    expected = json.loads(moodmap("predict", *map(str, music), "--format", "json", cwd=user).stdout)
    for row in expected:  # the plugin predicts what the CLI predicts, with the same default model
        valence, arousal, mood = stored[Path(row["path"]).name]
        assert valence == pytest.approx(row["valence"], abs=6e-4) and arousal == pytest.approx(row["arousal"], abs=6e-4)
        assert mood == row["emotion"]
    some_mood = next(iter(stored.values()))[2]
    assert len(beet("ls", f"mood:{some_mood}", cwd=user).stdout.splitlines()) == \
        sum(m == some_mood for _, _, m in stored.values())
    assert len(beet("ls", "valence:0.5..", cwd=user).stdout.splitlines()) == \
        sum(v >= 0.5 for v, _, _ in stored.values())
    again = beet("moodmap", cwd=user)  # analysed items are skipped
    assert "stored mood of 0 item(s)" in again.stdout + again.stderr


def test_reading_commands_do_not_load_torch(tmp_path):
    """playlist, map and library stats need no model: they start in a fraction of a second (torch's import
    alone takes ~2 s), which matters to a library owner running them from cron or a script."""
    from helpers import write_library_db

    db = write_library_db(tmp_path, songs=30)
    script = (
        "import sys\nfrom typer.testing import CliRunner\nfrom moodmap.cli import app\n"
        f"for args in (['playlist', '--db', {str(db)!r}, '--mood', 'happy'], ['map', '--db', {str(db)!r}, '-o', "
        f"{str(tmp_path / 'map.html')!r}], ['library', 'stats', '--db', {str(db)!r}], ['playlist', '--db', {str(db)!r}]):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0, args\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'librosa', 'ray')))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
