"""Exit codes a cron job can act on: 0 all done, 1 the command ran and some files failed (could not be
analysed, or could not be tagged), 2 it could not run (a missing folder, a refused index); `--quiet`
prints one line that counts the two kinds of failure apart and names `moodmap library failures`, which
lists them. Through the installed program, with a file mutagen cannot tag and one that is not audio."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import tone, write_audio

MOODMAP = str(Path(sys.executable).parent / "moodmap")
BAD_ID3 = b"ID3\x04\x00\x00\xff\xff\xff\xff"  # a tag size that is not synchsafe: the audio reads, no tag writes


def moodmap(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "MOODMAP_DB")}
    return subprocess.run([MOODMAP, *args], capture_output=True, text=True, timeout=300, env=env)


def untaggable(path: Path) -> Path:
    """``path``, an mp3 with no tag, given an ID3 header mutagen cannot write to."""
    path.write_bytes(BAD_ID3 + path.read_bytes())
    return path


@pytest.fixture
def music(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "Music"
    folder.mkdir()
    files = {"good": write_audio(folder / "good.flac", tone(12.0)),
             "untaggable": untaggable(write_audio(folder / "untaggable.mp3", tone(12.0, freqs=(330.0, 415.3)))),
             "broken": folder / "broken.mp3"}
    files["broken"].write_bytes(bytes(range(256)) * 64)  # named like audio, is not
    return files


def test_a_cron_scan_with_files_it_cannot_analyse_or_tag_exits_1_every_run_and_says_where_to_look(music, tmp_path):
    db = tmp_path / "index" / "library.sqlite"
    listing = f"`moodmap library failures --db {db}` lists the failures"
    first = moodmap("scan", str(music["good"].parent), "--db", str(db), "--write-tags", "--quiet", "--jobs", "1")
    assert first.returncode == 1 and not [line for line in first.stderr.splitlines() if line.startswith("moodmap")], \
        first  # (libmpg123 itself may still grumble about the bad ID3 tag on stderr)
    [line] = first.stdout.splitlines()
    assert "3 files: 2 analysed" in line and " 1 failed, 0 skipped" in line and "1 file tagged, 1 not tagged" in line
    assert line.endswith(listing), line
    again = moodmap("scan", str(music["good"].parent), "--db", str(db), "--write-tags", "--quiet", "--jobs", "1")
    [line] = again.stdout.splitlines()  # the tags are tried again (and fail again); the broken file is skipped
    assert again.returncode == 1 and " 0 failed, 1 skipped" in line and "1 not tagged" in line and listing in line
    failures = moodmap("library", "failures", "--db", str(db))
    lines = failures.stdout.splitlines()
    assert failures.returncode == 0 and len(lines) == 3, failures
    assert any(line.startswith(f"not analysed: {music['broken']}: DecodeError: ") for line in lines[:2]), lines
    assert any(line.startswith(f"not tagged: {music['untaggable']}: TagWriteError: ") for line in lines[:2]), lines
    assert all(line.endswith(")") and ", moodmap " in line for line in lines[:2])  # when, and under which version
    assert lines[2] == "1 file could not be analysed, 1 could not be tagged"
    stats = moodmap("library", "stats", "--db", str(db)).stdout.splitlines()
    assert stats[1].startswith("2 songs, 1 failure, 1 not tagged;"), stats


def test_once_the_file_can_be_tagged_the_run_exits_0_and_its_failure_is_gone(music, tmp_path):
    db = tmp_path / "library.sqlite"
    scan = ("scan", str(music["good"].parent), "--db", str(db), "--write-tags", "--quiet", "--jobs", "1")
    assert moodmap(*scan).returncode == 1
    mended = music["untaggable"].read_bytes()[len(BAD_ID3):]
    music["untaggable"].write_bytes(mended)  # the user repairs the file
    done = moodmap(*scan)
    [line] = done.stdout.splitlines()
    assert done.returncode == 0 and "0 failed, 1 skipped" in line and "not tagged" not in line, done
    assert "library failures" not in line  # nothing new failed in this run
    lines = moodmap("library", "failures", "--db", str(db)).stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"not analysed: {music['broken']}: "), lines
    assert lines[1] == "1 file could not be analysed, 0 could not be tagged"


def test_an_untag_that_cannot_restore_a_file_exits_1(music, tmp_path):
    db = tmp_path / "library.sqlite"
    music["broken"].unlink()
    music["untaggable"].write_bytes(music["untaggable"].read_bytes()[len(BAD_ID3):])
    assert moodmap("scan", str(music["good"].parent), "--db", str(db), "--write-tags", "--jobs", "1").returncode == 0
    tagged = music["untaggable"].read_bytes()
    music["untaggable"].write_bytes(BAD_ID3 + tagged[10 + int.from_bytes(tagged[6:10], "big"):])  # its tag made bad
    done = moodmap("untag", "--db", str(db))
    assert done.returncode == 1, done
    [said] = done.stderr.splitlines()
    assert said.startswith(f"moodmap: failed {music['untaggable']}: ") and done.stdout.splitlines()[-1] == \
        "1 file restored", done


@pytest.mark.parametrize("case", ["missing folder", "refused index", "usage"])
def test_a_scan_that_cannot_run_exits_2_in_one_line(music, tmp_path, case):
    db = tmp_path / "library.sqlite"
    folder = str(music["good"].parent)
    if case == "missing folder":
        folder = str(tmp_path / "unmounted")
    elif case == "refused index":
        db.write_text("my notes\n")
    args = ["scan", folder, "--db", str(db), "--write-tags", "--quiet"]
    done = moodmap(*(args + ["--jobs", "none"] if case == "usage" else args))
    assert done.returncode == 2 and done.stdout == "", done
    if case != "usage":  # click's own usage message is a few lines
        assert len(done.stderr.splitlines()) == 1, done.stderr


def test_a_cron_scan_says_once_that_a_file_cannot_be_analysed(music, tmp_path):
    db = tmp_path / "library.sqlite"
    music["untaggable"].unlink()
    scan = ("scan", str(music["good"].parent), "--db", str(db), "--quiet", "--jobs", "1")
    first, again = moodmap(*scan), moodmap(*scan)
    assert first.returncode == 1 and " 1 failed, 0 skipped" in first.stdout, first
    assert again.returncode == 0 and " 0 failed, 1 skipped" in again.stdout, again  # recorded: cron mails no more


def test_a_tag_failure_never_hides_an_analysis_failure_and_is_replaced_only_under_the_folders_scanned(tmp_path):
    from moodmap.core.errors import DecodeError, Failure, TagWriteError
    from moodmap.library.index import Library

    with Library(tmp_path / "library.sqlite") as library:
        library.fail(Failure.of("/m/a/x.mp3", DecodeError("/m/a/x.mp3", "not audio")), 1, 1, "m", "sha")
        library.record_tag_failures([Path("/m")], [Failure.of(p, TagWriteError(p, "no")) for p in
                                                   ("/m/a/x.mp3", "/m/a/y.mp3", "/m/b/z.mp3")])
        assert {r["path"]: r["error"] for r in library.failure_list()} == {
            "/m/a/x.mp3": "DecodeError", "/m/a/y.mp3": "TagWriteError", "/m/b/z.mp3": "TagWriteError"}
        library.record_tag_failures([Path("/m/a")], [])  # /m/a tagged now; /m/b not scanned this time
        assert {r["path"]: r["error"] for r in library.failure_list()} == {
            "/m/a/x.mp3": "DecodeError", "/m/b/z.mp3": "TagWriteError"}
        assert set(library.failures()) == {"/m/a/x.mp3"}  # what a scan skips: the analysis failures
