"""Messages (issue 30, item 14): each refusal or failure is one line that says what really happened,
with the right exit code. Through the installed program, on audio made here: a truncated mp3, a
file that is not audio, and a small library scanned once for the module."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from helpers import tone, write_audio
from userlib import encode

MOODMAP = str(Path(sys.executable).parent / "moodmap")


def moodmap(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "MOODMAP_DB",
                                                                  "MOODMAP_DEBUG")}
    return subprocess.run([MOODMAP, *args], capture_output=True, text=True, timeout=120, env={**environ, **env})


def said(done: subprocess.CompletedProcess) -> list[str]:
    """stderr's lines without the demo-weights note."""
    return [line for line in done.stderr.splitlines() if not line.startswith("moodmap: note:")]


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> dict[str, Path]:
    """Two songs, a 160 s mp3 cut to its first twentieth, and a file that is not audio; scanned
    with --write-tags in this process (--jobs 1) into ``db``, whose output is kept as ``scan``."""
    root = tmp_path_factory.mktemp("messages")
    folder = root / "Music"
    folder.mkdir()
    files = {"a": write_audio(folder / "a.wav", tone(12.0)),
             "b": write_audio(folder / "b.flac", tone(12.0, freqs=(330.0, 415.3))),
             "truncated": folder / "truncated.mp3", "junk": folder / "junk.mp3"}
    whole = encode(root / "whole.mp3", tone(60.0, 44100), 44100).read_bytes()
    files["truncated"].write_bytes(whole[:len(whole) // 10])  # about 6 s of the 60 its header promises
    files["junk"].write_bytes(b"not audio at all " * 200)
    files["folder"], files["db"] = folder, root / "library.sqlite"
    files["scan"] = moodmap("scan", str(folder), "--db", str(files["db"]), "--write-tags", "--jobs", "1")
    assert files["scan"].returncode == 0, files["scan"]
    return files


@pytest.fixture
def db(music, tmp_path) -> Path:
    """A copy of the module's index, for a test that changes it."""
    copy = tmp_path / "library.sqlite"
    shutil.copy(music["db"], copy)
    return copy


@pytest.fixture(scope="module")
def predicted(music) -> subprocess.CompletedProcess:
    return moodmap("predict", str(music["truncated"]), str(music["junk"]))


def test_a_truncated_mp3_says_how_much_really_decodes(predicted):
    [line] = [line for line in said(predicted) if "truncated.mp3" in line]
    assert "header promises 60.0 s but only " in line and "stopped at" not in line, line
    seconds = float(line.split("but only ")[1].split(" s")[0])
    assert 4.5 < seconds < 7.0, line


def test_a_file_that_is_not_audio_is_said_to_be_so_without_libsndfiles_pipe_or_the_path_again(music, predicted):
    """libsndfile says "File does not exist or is not a regular file (possibly a pipe?)" of a text
    file named .mp3, and both decoders repeat its path (a server's upload path, for an upload)."""
    [line] = [line for line in said(predicted) if "junk.mp3" in line]
    assert line == f"moodmap: failed {music['junk']}: not a decodable audio file (soundfile: format not recognised; " \
        "pyav: Invalid data found when processing input)"


def test_predict_with_nothing_predicted_prints_no_table_only_failures(predicted):
    assert predicted.returncode == 2 and predicted.stdout.strip() == "", predicted
    lines = said(predicted)
    assert len(lines) == 2 and all(line.startswith("moodmap: failed ") for line in lines), predicted


def test_in_process_decoding_keeps_libmpg123_off_stderr(music, predicted):
    assert all(line.startswith("moodmap: ") for line in predicted.stderr.splitlines()), predicted.stderr
    assert all(line.startswith("moodmap: ") for line in music["scan"].stderr.splitlines()), music["scan"].stderr
    debug = moodmap("predict", str(music["truncated"]), MOODMAP_DEBUG="1")
    assert any(not line.startswith("moodmap: ") for line in debug.stderr.splitlines()), debug.stderr


def test_a_tag_write_failure_names_the_file_once(music, db):
    music["a"].rename(music["a"].with_suffix(".gone"))
    try:
        done = moodmap("untag", "--db", str(db))
    finally:
        music["a"].with_suffix(".gone").rename(music["a"])
    [line] = said(done)
    assert done.returncode == 1 and line == f"moodmap: failed {music['a']}: No such file or directory", done


@pytest.mark.parametrize("model", ["missing.pt", "song", "folder"])
def test_a_model_that_is_not_a_model_file_is_one_line_not_about_pytorch(music, model):
    given = {"missing.pt": str(music["folder"] / "missing.pt"), "song": str(music["junk"]),
             "folder": str(music["folder"])}[model]
    done = moodmap("predict", str(music["a"]), "--model", given)
    [line] = said(done)
    assert done.returncode == 2 and given in line and "PyTorch" not in line and "torch" not in line, done


def test_an_unknown_quadrant_is_named_as_a_quadrant(music):
    done = moodmap("playlist", "--db", str(music["db"]), "--quadrant", "Q5")
    assert done.returncode == 2 and said(done) == [
        "moodmap: unknown quadrant 'Q5'; choose Q1 (happy), Q2 (angry), Q3 (sad) or Q4 (calm)"], done


@pytest.mark.parametrize("args, option", [
    (["playlist", "--quadrant", "Q1", "--n", "0"], "--n"),
    (["playlist", "--quadrant", "Q1", "--steps", "-1"], "--steps"),
    (["scan", "FOLDER", "--jobs", "0"], "--jobs"),
    (["scan", "FOLDER", "--settle", "-1"], "--settle"),
    (["scan", "FOLDER", "--grace", "-1"], "--grace"),
    (["predict", "SONG", "--hop", "-1"], "--hop"),
])
def test_an_option_out_of_range_is_refused_in_one_line(music, db, tmp_path, args, option):
    where = {"FOLDER": str(music["folder"]), "SONG": str(music["a"])}
    args = [where.get(arg, arg) for arg in args]
    done = moodmap(*args, *(["--db", str(db)] if args[0] != "predict" else []))
    [line] = said(done)
    assert done.returncode == 2 and line.startswith(f"moodmap: {option} must be "), done


@pytest.mark.parametrize("name", ["Mix [b]old.m3u8", ":smile: [red]x.m3u8"])
def test_a_name_is_printed_as_given_never_as_markup(music, tmp_path, name):
    """File names, tags and the user's words are quoted exactly: brackets are common in music file
    names, and rich would read ``[b]`` as bold and ``:smile:`` as an emoji."""
    done = moodmap("playlist", "--db", str(music["db"]), "--valence", "0:1", "-o", str(tmp_path / name))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / name).exists() and f"→ {tmp_path / name}" in done.stdout, done.stdout
    done = moodmap("playlist", "--db", str(music["db"]), "--near", ":thumbs_up: [b]x")
    assert done.returncode == 2 and "':thumbs_up: [b]x'" in done.stderr, done.stderr


@pytest.mark.parametrize("command", [["playlist", "--valence", "0:1", "-o"], ["map", "-o"]])
def test_an_output_into_a_folder_that_is_not_there_is_refused_and_no_folder_made(music, tmp_path, command):
    target = tmp_path / "typo" / "deeper" / "out.m3u8"
    done = moodmap(*command[:1], "--db", str(music["db"]), *command[1:], str(target.with_suffix(
        ".m3u8" if command[0] == "playlist" else ".png")))
    assert done.returncode == 2 and said(done) == [
        f"moodmap: {target.with_suffix(target.suffix if command[0] == 'playlist' else '.png')}: not written: its "
        f"folder {target.parent} does not exist"], done.stderr
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("args,option", [(["--arousal", "rise", "--arousal", "0.2:0.5"], "--arousal"),
                                         (["--mood", "calm", "-o", "{tmp}/a.m3u8", "--out={tmp}/b.m3u8"], "--out/-o")])
def test_an_option_given_twice_is_refused_not_half_ignored(music, tmp_path, args, option):
    """click keeps the last of a repeated option and drops the first without a word: a rising
    playlist given an arousal range too came out not rising."""
    done = moodmap("playlist", "--db", str(music["db"]), *(arg.format(tmp=tmp_path) for arg in args))
    assert done.returncode == 2 and said(done) == [f"moodmap: {option} is given more than once; give it once"], \
        done.stderr
    assert not list(tmp_path.iterdir())


def test_untag_of_a_folder_that_is_not_there_is_refused(music, tmp_path):
    gone = tmp_path / "nonexistent"
    done = moodmap("untag", str(gone), "--db", str(music["db"]))
    assert done.returncode == 2 and said(done) == [f"moodmap: {gone}: no such folder (nothing was changed)"], done
    assert done.stdout == ""


def test_prune_removes_the_failures_of_deleted_files(music, db):
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM failures WHERE path = ?", (str(music["junk"]),)).fetchone()[0]
    connection.close()
    music["junk"].rename(music["junk"].with_suffix(".gone"))
    try:
        pruned = moodmap("library", "prune", "--db", str(db))
        after = moodmap("library", "failures", "--db", str(db))
    finally:
        music["junk"].with_suffix(".gone").rename(music["junk"])
    assert pruned.returncode == 0 and pruned.stdout.splitlines()[-1] == f"0 songs and 1 failure removed from {db}"
    assert str(music["junk"]) not in after.stdout and str(music["truncated"]) in after.stdout, after


def test_a_damaged_index_is_one_check_line_summarising_sqlites_report(db):
    with sqlite3.connect(db) as connection:  # an index whose entries no longer match its definition
        connection.execute("PRAGMA writable_schema=ON")
        connection.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX songs_fingerprint ON songs (title)' "
                           "WHERE name = 'songs_fingerprint'")
    connection.close()
    done = moodmap("library", "check", "--db", str(db))
    [line] = done.stdout.splitlines()
    assert done.returncode == 2 and "integrity damaged (2 problems reported by SQLite's integrity_check, first: " \
        "row 1 missing from index songs_fingerprint)" in line, done


def test_sigterm_stops_a_scan_cleanly(tmp_path):
    folder = tmp_path / "Many"
    folder.mkdir()
    for i in range(24):
        write_audio(folder / f"{i:02d}.wav", tone(30.0, freqs=(200.0 + 7 * i, 300.0 + 5 * i)))
    db = tmp_path / "library.sqlite"
    environ = {k: v for k, v in os.environ.items() if k not in ("MOODMAP_DB", "MOODMAP_DEBUG")}
    scan = subprocess.Popen([MOODMAP, "scan", str(folder), "--db", str(db), "--jobs", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environ)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _songs(db):  # the workers are running
        time.sleep(0.1)
    scan.send_signal(signal.SIGTERM)
    out, err = scan.communicate(timeout=60)
    assert scan.returncode == 143, (out, err)
    assert [line for line in err.splitlines() if not line.startswith("moodmap: note:")] == [
        "moodmap: stopped (SIGTERM); analysed songs are saved, rerun the same command to resume"], err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_watcher_stopped_by_ctrl_c_or_sigterm_exits_0(music, tmp_path, stop):
    """Stopping is how a watcher ends (systemctl stop sends SIGTERM, and a unit whose process exits
    143 is marked failed): exit 0 and one line, as for serve."""
    environ = {k: v for k, v in os.environ.items() if k not in ("MOODMAP_DB", "MOODMAP_DEBUG")}
    watch = subprocess.Popen([MOODMAP, "scan", str(music["folder"]), "--db", str(tmp_path / "copy.sqlite"),
                              "--watch", "--jobs", "1"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             text=True, env=environ)
    lines = []
    while not any(line.startswith("moodmap: watching") for line in lines):
        lines.append(watch.stderr.readline())
        assert lines[-1], lines
    watch.send_signal(stop)
    try:
        _, err = watch.communicate(timeout=60)
    finally:  # one that did not stop is ended here, not left running after the test
        if watch.poll() is None:
            watch.kill()
    assert watch.returncode == 0, (lines, err)
    assert "moodmap: stopped watching; the index is up to date with what had settled" in err.splitlines(), err


def _songs(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT COUNT(*) FROM songs").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("form", ["dotted", "table"])
def test_navidrome_write_adds_only_the_missing_tags_and_stays_toml(tmp_path, form):
    toml = tmp_path / "navidrome.toml"
    toml.write_text({"dotted": 'MusicFolder = "/music"\nTags.valence.Type = "float"\nTags.valence.Aliases = '
                               '["valence"]\n',
                     "table": '[Tags]\nvalence = { Type = "float", Aliases = ["valence"] }\n'}[form])
    done = moodmap("integrate", "navidrome", "--write", str(toml))
    assert done.returncode == 0 and done.stdout.startswith(f"added arousal, moodmap_quadrant to {toml}"), done
    tags = tomllib.loads(toml.read_text())["Tags"]
    assert sorted(tags) == ["arousal", "moodmap_quadrant", "valence"] and tags["valence"]["Aliases"] == ["valence"]


def test_navidrome_write_refuses_a_form_it_cannot_extend(tmp_path):
    toml = tmp_path / "navidrome.toml"
    toml.write_text('Tags = { valence = { Type = "float" } }\n')
    done = moodmap("integrate", "navidrome", "--write", str(toml))
    [line] = said(done)
    assert done.returncode == 2 and "cannot safely add to" in line and "arousal, moodmap_quadrant" in line, done
    assert toml.read_text() == 'Tags = { valence = { Type = "float" } }\n'
    assert not (tmp_path / "navidrome.toml.bak").exists()
