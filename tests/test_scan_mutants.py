"""What scan.py decides, each in a test that fails when the line holding it is changed (mutation
testing, ``python benchmarks/mutation.py scan``): which files a scan sees, what it records for each,
which songs are unchanged, moved, gone or failed before, what it refuses to remove, what a dry run
leaves, and where an error in moodmap itself goes. In process through ``scan_library`` with the
default model on a few short tones; songs a test only needs *indexed* are recorded as they are
(``indexed``), so that nothing is analysed that the test does not look at."""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from helpers import tone, write_audio
from moodmap import __version__
from moodmap.core.checksums import fingerprint
from moodmap.core.errors import Failure, MoodmapError
from moodmap.library.index import Library, file_id
from moodmap.inference.registry import DEFAULT_MODEL, identify, resolve
from moodmap.inference.predict import predict_file, track_timeline
from moodmap.library.scan import AnalyseTask, _crashed, iter_audio_files, music_folders, scan_library

SHA = identify(DEFAULT_MODEL).sha256
RATE = 16000


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Three songs of different lengths (so of different sizes): 6, 8 and 7 seconds."""
    folder = tmp_path_factory.mktemp("pristine") / "Music"
    folder.mkdir()
    for name, seconds, freqs in (("a.wav", 6.0, (220.0, 330.0)), ("b.wav", 8.0, (440.0,)),
                                 ("c.wav", 7.0, (261.6, 329.6, 392.0))):
        write_audio(folder / name, tone(seconds, RATE, freqs=freqs), RATE)
    return folder


@pytest.fixture
def music(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "Music")
    return tmp_path / "Music"


def scan(music, db, **kw):
    return scan_library(music, db, jobs=1, **kw)


def rows(db) -> dict[str, dict]:
    with Library(db) as library:
        return {Path(r["path"]).name: r for r in library.songs()}


def failed(db) -> dict[str, dict]:
    with Library(db) as library:
        return {Path(r["path"]).name: r for r in library.failure_list()}


def dummy(path: Path, content: bytes = b"x" * 64) -> Path:
    """A file with an audio name that is never decoded (its song is recorded by ``indexed``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def indexed(db, *files: Path, model_sha: str = SHA, **extra) -> None:
    """An index holding ``files`` as they are now, analysed by the default model."""
    with Library(db) as library:
        for path in files:
            st = path.stat()
            library.save({"path": str(path), "fingerprint": fingerprint(path, st.st_size), "size": st.st_size,
                          "mtime_ns": st.st_mtime_ns, "valence": 0.5, "arousal": 0.5, "quadrant": None,
                          "emotion": "neutral", "model": DEFAULT_MODEL, "model_sha": model_sha,
                          "analysed_at": "2026-11-30T00:00:00", "file_id": file_id(st), **extra})


# ------------------------------------------------------------------ which files a scan sees
def test_audio_files_are_found_by_suffix_in_any_case_in_name_order(tmp_path):
    for name in ("b.mp3", "A.FLAC", "c.Ogg", "notes.txt", "cover.jpg", "sub/d.opus", "sub/e.m4a", "x.aiff"):
        dummy(tmp_path / name)
    found = [p.relative_to(tmp_path).as_posix() for p in iter_audio_files(tmp_path)]
    assert found == ["A.FLAC", "b.mp3", "c.Ogg", "x.aiff", "sub/d.opus", "sub/e.m4a"]


def test_junk_folders_and_files_are_skipped_at_any_depth(tmp_path):
    kept = dummy(tmp_path / "Artist" / "song.mp3")
    for name in ("Artist/@eaDir/song.mp3", "Artist/._song.mp3", "#recycle/x.flac", ".Trash-1000/files/z.ogg",
                 "Artist/.AppleDouble/w.m4a", "lost+found/y.wav"):
        dummy(tmp_path / name)
    assert list(iter_audio_files(tmp_path)) == [kept]


def test_an_exclusion_matches_a_name_or_a_path_below_the_folder(tmp_path):
    kept = dummy(tmp_path / "Music" / "Podcasts" / "keep.mp3")
    dummy(tmp_path / "Podcasts" / "show.mp3")
    part = dummy(tmp_path / "Music" / "a.part.mp3")
    assert list(iter_audio_files(tmp_path, exclude=["Podcasts/*", "*.part.mp3"])) == [kept]
    assert list(iter_audio_files(tmp_path, exclude=["Podcasts"])) == [part]  # a folder's name, at any depth


def test_a_symlinked_folder_is_not_walked(tmp_path):
    song = dummy(tmp_path / "Music" / "a.mp3")
    (tmp_path / "Music" / "loop").symlink_to(tmp_path / "Music", target_is_directory=True)
    assert list(iter_audio_files(tmp_path / "Music")) == [song]


def test_the_folders_to_scan_are_resolved_and_each_must_be_a_folder(tmp_path, monkeypatch):
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    monkeypatch.chdir(tmp_path)
    assert music_folders("A") == [tmp_path.resolve() / "A"]
    assert music_folders(Path("A")) == [tmp_path.resolve() / "A"]
    assert music_folders(["A", tmp_path / "B"]) == [tmp_path.resolve() / "A", tmp_path.resolve() / "B"]
    with pytest.raises(MoodmapError) as no_folder:
        music_folders([])
    assert no_folder.value.path is None and no_folder.value.reason == "give at least one music folder to scan"
    with pytest.raises(MoodmapError) as missing:
        music_folders(["A", "gone"])
    assert str(missing.value.path) == "gone" and missing.value.reason == "not a folder (nothing was changed)"
    dummy(tmp_path / "file.mp3")
    with pytest.raises(MoodmapError, match="not a folder"):
        music_folders("file.mp3")


# ------------------------------------------------------------------ what a scan records
def test_each_song_is_recorded_with_its_file_and_the_models_prediction(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    summary = scan(music, db)
    assert (summary.files, summary.analysed, summary.unchanged, summary.moved, summary.pruned,
            summary.skipped_failed, summary.failures, summary.internal) == (3, 3, 0, 0, 0, 0, [], [])
    assert 0 < summary.seconds < 60 and not summary.interrupted and not summary.dry_run
    predictor = resolve(DEFAULT_MODEL).predictor
    found = rows(db)
    assert set(found) == {"a.wav", "b.wav", "c.wav"}
    for name, row in found.items():
        path = music.resolve() / name
        st = path.stat()
        expected = predict_file(path, predictor, DEFAULT_MODEL)
        assert row["path"] == str(path)
        assert (row["size"], row["mtime_ns"], row["file_id"]) == (st.st_size, st.st_mtime_ns, file_id(st))
        assert row["fingerprint"] == fingerprint(path, st.st_size)
        assert (row["model"], row["model_sha"], row["timeline"]) == (DEFAULT_MODEL, SHA, None)
        assert row["valence"] == pytest.approx(expected.valence) and row["arousal"] == pytest.approx(expected.arousal)
        assert row["valence_spread"] == pytest.approx(expected.valence_spread)
        assert row["arousal_spread"] == pytest.approx(expected.arousal_spread)
        assert (row["quadrant"], row["emotion"]) == (expected.quadrant, expected.emotion)
        assert row["duration"] == pytest.approx(st.st_size / 2 / RATE, abs=0.01)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["analysed_at"])
    with Library(db) as library:
        assert library.roots() == [str(music.resolve())]


def test_the_biggest_files_are_analysed_first_and_progress_counts_every_file(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    indexed(db, dummy(music / "z.mp3"))  # found and unchanged: counted as done from the start
    seen = []
    scan(music, db, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    ids = {name: row["id"] for name, row in rows(db).items()}
    assert sorted(["a.wav", "b.wav", "c.wav"], key=ids.get) == ["b.wav", "c.wav", "a.wav"]  # 8 s, 7 s, 6 s


def test_a_timeline_is_stored_when_asked_and_asking_for_one_reanalyses(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    write_audio(music / "a.wav", tone(21.0, RATE), RATE)  # a 15 s window fits at 0 … 6 s
    scan(music, db)
    assert rows(db)["a.wav"]["timeline"] is None
    assert scan(music, db).unchanged == 1
    again = scan(music, db, timeline=True)
    assert (again.analysed, again.unchanged) == (1, 0)
    stored = json.loads(rows(db)["a.wav"]["timeline"])
    expected = track_timeline(music / "a.wav", resolve(DEFAULT_MODEL).predictor, hop=5.0)
    assert [p["start"] for p in stored] == [p.start for p in expected] == [0.0, 5.0]  # every 5 s by default
    assert [p["valence"] for p in stored] == pytest.approx([p.valence for p in expected])
    assert (scan(music, db, timeline=True).unchanged, scan(music, db).unchanged) == (1, 1)
    scan(music, tmp_path / "other.sqlite", timeline=True, hop=3.0)
    assert [p["start"] for p in json.loads(rows(tmp_path / "other.sqlite")["a.wav"]["timeline"])] == [0.0, 3.0, 6.0]


def test_a_song_changed_on_disk_or_analysed_by_another_model_is_analysed_again(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    scan(music, db)
    ids = {name: row["id"] for name, row in rows(db).items()}
    write_audio(music / "a.wav", tone(6.0, RATE, freqs=(500.0,)), RATE)  # same size, new content and time
    os.utime(music / "c.wav", ns=(1, 1))  # only its time
    again = scan(music, db)
    assert (again.analysed, again.unchanged) == (2, 1)
    assert rows(db)["c.wav"]["mtime_ns"] == 1
    assert {name: row["id"] for name, row in rows(db).items()} == ids
    other = scan(music, db, model="paper")
    assert (other.analysed, other.unchanged) == (3, 0)
    assert {row["model_sha"] for row in rows(db).values()} == {identify("paper").sha256}


# ------------------------------------------------------------------ moves
def test_a_moved_song_keeps_its_id_its_analysis_and_its_tag_journal(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    scan(music, db)
    before = rows(db)["a.wav"]
    with Library(db) as library:
        library.record_tags(before["path"], {"MOOD": (None, "calm")})
    (music / "sub").mkdir()
    (music / "a.wav").rename(music / "sub" / "moved.wav")
    summary = scan(music, db)
    assert (summary.moved, summary.analysed, summary.pruned, summary.unchanged) == (1, 0, 0, 2)
    after = rows(db)
    assert "a.wav" not in after
    moved, st = after["moved.wav"], (music / "sub" / "moved.wav").stat()
    assert (moved["id"], moved["valence"], moved["fingerprint"]) == (before["id"], before["valence"],
                                                                      before["fingerprint"])
    assert (moved["path"], moved["size"], moved["mtime_ns"], moved["file_id"]) == (
        str(music.resolve() / "sub" / "moved.wav"), st.st_size, st.st_mtime_ns, file_id(st))
    with Library(db) as library:
        assert library.journaled() == [moved["path"]]
    assert scan(music, db).unchanged == 3


def test_a_song_moved_in_from_an_unscanned_folder_is_a_move(tmp_path):
    db = tmp_path / "lib.sqlite"
    song = dummy(tmp_path / "Old" / "a.mp3", b"old song" * 100)
    stays = dummy(tmp_path / "Old" / "b.mp3", b"still there" * 100)
    indexed(db, song, stays)
    new = tmp_path / "New" / "a.mp3"
    new.parent.mkdir()
    song.rename(new)
    shutil.copy(stays, tmp_path / "New" / "copy.mp3")  # its source is still there: not a move, analysed (fails)
    summary = scan(tmp_path / "New", db)
    assert summary.moved == 1 and summary.analysed == 0
    assert set(rows(db)) == {"a.mp3", "b.mp3"}
    assert rows(db)["a.mp3"]["path"] == str(new.resolve())
    assert [f.path for f in summary.failures] == [str((tmp_path / "New" / "copy.mp3").resolve())]


def test_a_song_analysed_by_another_model_is_not_moved_but_analysed_again(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    old = music / "a.wav"
    indexed(db, old, model_sha="another model")
    old.rename(music / "renamed.wav")
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    summary = scan(music, db)
    assert (summary.moved, summary.analysed, summary.pruned) == (0, 1, 1)
    assert rows(db)["renamed.wav"]["model_sha"] == SHA and "a.wav" not in rows(db)


def test_two_copies_of_a_vanished_song_one_is_the_move_the_other_analysed(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    indexed(db, music / "a.wav")
    shutil.copy(music / "a.wav", music / "copy1.wav")
    (music / "a.wav").rename(music / "copy2.wav")
    summary = scan(music, db)
    assert (summary.moved, summary.analysed) == (1, 1)
    assert set(rows(db)) == {"copy1.wav", "copy2.wav"}


# ------------------------------------------------------------------ what is removed, and what never is
def test_songs_outside_the_scanned_folders_stay_when_their_folder_is_unmounted(tmp_path):
    db = tmp_path / "lib.sqlite"
    home = [dummy(tmp_path / "Home" / f"{i}.mp3", bytes([i]) * 64) for i in range(3)]
    nas = [dummy(tmp_path / "NAS" / f"nas{i}.mp3", bytes([10 + i]) * 64) for i in range(3)]
    indexed(db, *home, *nas)
    shutil.rmtree(tmp_path / "NAS")
    summary = scan(tmp_path / "Home", db)
    assert (summary.pruned, summary.unchanged) == (0, 3)
    assert len(rows(db)) == 6


def test_a_folder_named_like_the_start_of_the_scanned_one_is_not_under_it(tmp_path):
    db = tmp_path / "lib.sqlite"
    home = dummy(tmp_path / "Music" / "a.mp3", b"a" * 64)
    other = dummy(tmp_path / "Music2" / "b.mp3", b"b" * 64)
    indexed(db, home, other)
    other.unlink()
    assert scan(tmp_path / "Music", db).pruned == 0
    assert set(rows(db)) == {"a.mp3", "b.mp3"}


def test_a_few_vanished_songs_are_removed_with_their_failure_records(tmp_path):
    db = tmp_path / "lib.sqlite"
    songs = [dummy(tmp_path / "Music" / f"{i}.mp3", bytes([i]) * 64) for i in range(3)]
    indexed(db, *songs)
    with Library(db) as library:
        library.fail(Failure(str(songs[1]), "DecodeError", "bad"), 64, 0, DEFAULT_MODEL, SHA)
    songs[0].unlink()
    songs[1].unlink()
    summary = scan(tmp_path / "Music", db)
    assert summary.pruned == 2
    assert set(rows(db)) == {"2.mp3"} and failed(db) == {}


def test_an_excluded_or_dangling_song_is_not_removed(tmp_path):
    db = tmp_path / "lib.sqlite"
    kept = dummy(tmp_path / "Music" / "keep.mp3")
    target = dummy(tmp_path / "elsewhere.mp3", b"y" * 64)
    link = tmp_path / "Music" / "link.mp3"
    link.symlink_to(target)
    indexed(db, kept, link)
    target.unlink()  # the link dangles: the file may come back (a mount), the song is kept
    summary = scan(tmp_path / "Music", db, exclude=["keep.mp3"])
    assert (summary.files, summary.pruned) == (1, 0) and set(rows(db)) == {"keep.mp3", "link.mp3"}
    assert [(Path(f.path).name, f.error) for f in summary.failures] == [("link.mp3", "MissingFileError")]


def test_watch_keeps_gone_songs_in_the_index(tmp_path):
    db = tmp_path / "lib.sqlite"
    songs = [dummy(tmp_path / "Music" / f"{i}.mp3", bytes([i]) * 64) for i in range(3)]
    indexed(db, *songs)
    songs[0].unlink()
    summary = scan(tmp_path / "Music", db, keep_gone=True)
    assert summary.pruned == 0 and len(rows(db)) == 3


def refusal(music, db, **kw) -> str:
    with pytest.raises(MoodmapError) as refused:
        scan(music, db, **kw)
    assert refused.value.path is None
    return refused.value.reason


@pytest.mark.parametrize("songs, vanish, refused", [(3, 2, False), (4, 3, True), (15, 3, False), (15, 4, True),
                                                    (20, 4, False), (20, 5, True)])
def test_more_than_a_fifth_of_the_index_and_more_than_two_songs_at_once_need_prune_missing(
        tmp_path, songs, vanish, refused):
    db = tmp_path / "lib.sqlite"
    files = [dummy(tmp_path / "Music" / f"{i:02d}.mp3", i.to_bytes(2, "big") * 32) for i in range(songs)]
    indexed(db, *files)
    for path in files[:vanish]:
        path.unlink()
    if refused:
        folder = (tmp_path / "Music").resolve()
        assert refusal(tmp_path / "Music", db) == (
            f"{vanish} of the {songs} indexed songs under {folder} are missing — more than 20% of the index at "
            "once; nothing was changed. Rerun with prune_missing to remove them from the index")
        assert len(rows(db)) == songs
        with Library(db) as library:
            assert library.roots() == []  # refused before anything was recorded
    assert scan(tmp_path / "Music", db, prune_missing=refused).pruned == vanish
    assert len(rows(db)) == songs - vanish


def test_an_emptied_folder_among_several_is_refused_by_name(tmp_path):
    db = tmp_path / "lib.sqlite"
    home = [dummy(tmp_path / "Home" / f"{i}.mp3", bytes([i]) * 64) for i in range(8)]
    nas = dummy(tmp_path / "NAS" / "nas.mp3", b"n" * 64)
    indexed(db, *home, nas)
    nas.unlink()
    assert refusal([tmp_path / "Home", tmp_path / "NAS"], db) == (
        f"1 of the 9 indexed songs under {(tmp_path / 'NAS').resolve()} are missing — no audio file was found there "
        "(not mounted?); nothing was changed. Rerun with prune_missing to remove them from the index")
    assert len(rows(db)) == 9
    home[0].unlink()  # and one at home: each folder's own are counted
    assert refusal([tmp_path / "Home", tmp_path / "NAS"], db).startswith(
        f"1 of the 9 indexed songs under {(tmp_path / 'NAS').resolve()} are missing — no audio file")
    (tmp_path / "Empty").mkdir()  # a folder with nothing indexed under it, scanned too
    assert scan([tmp_path / "Home", tmp_path / "Empty"], db).pruned == 1  # one song gone where others are found


# ------------------------------------------------------------------ failures
def test_a_failure_is_recorded_with_the_file_version_and_model_and_skipped_until_something_changes(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    broken = dummy(music / "0 broken.mp3", b"ID3" + b"\x00" * 500)  # first in order
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    first = scan(music, db)
    assert [Path(f.path).name for f in first.failures] == ["0 broken.mp3"] and first.analysed == 1
    record = failed(db)["0 broken.mp3"]
    st = broken.stat()
    assert (record["size"], record["mtime_ns"], record["version"], record["model"], record["model_sha"]) == (
        st.st_size, st.st_mtime_ns, __version__, DEFAULT_MODEL, SHA)
    again = scan(music, db)
    assert (again.skipped_failed, again.failures, again.unchanged) == (1, [], 1)
    for column, value in (("version", "0.0.1"), ("model_sha", "another"), ("size", 1), ("mtime_ns", 1)):
        with sqlite3.connect(db) as connection:
            connection.execute(f"UPDATE failures SET {column} = ?", (value,))
        retried = scan(music, db)
        assert (retried.skipped_failed, len(retried.failures)) == (0, 1), column
    assert len(scan(music, db, retry_failed=True).failures) == 1


def test_a_file_that_cannot_be_read_is_a_failure_and_the_scan_goes_on(tmp_path):
    db = tmp_path / "lib.sqlite"
    folder = tmp_path / "Music"
    folder.mkdir()
    os.mkfifo(folder / "a pipe.flac")  # first in order: the files after it are still looked at
    (folder / "b dangling.mp3").symlink_to(tmp_path / "nowhere.mp3")
    (folder / "c loop.mp3").symlink_to(folder / "d loop.mp3")
    (folder / "d loop.mp3").symlink_to(folder / "c loop.mp3")
    unreadable = dummy(folder / "e locked.wav", b"z" * 100)
    os.chmod(unreadable, 0)
    summary = scan(folder, db)
    found = {Path(f.path).name: (f.error, f.reason) for f in summary.failures}
    assert found["a pipe.flac"] == ("UnreadableFileError", "not a regular file")
    assert found["b dangling.mp3"] == ("MissingFileError", "No such file or directory")
    assert found["c loop.mp3"] == found["d loop.mp3"] == ("UnreadableFileError", "Too many levels of symbolic links")
    assert summary.files == 5 and "e locked.wav" in found  # root reads it (not audio); others may not
    records = failed(db)
    assert {name: (r["size"], r["mtime_ns"]) for name, r in records.items() if name != "e locked.wav"} == {
        "a pipe.flac": (0, 0), "b dangling.mp3": (0, 0), "c loop.mp3": (0, 0), "d loop.mp3": (0, 0)}
    assert {(r["model"], r["model_sha"], r["version"]) for r in records.values()} == {(DEFAULT_MODEL, SHA, __version__)}
    if os.geteuid() != 0:
        assert found["e locked.wav"][0] == "UnreadableFileError" and records["e locked.wav"]["size"] == 100


def test_an_error_in_moodmap_is_reported_not_recorded_and_with_debug_raised(music, tmp_path, monkeypatch):
    from moodmap.core import features

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    dummy(music / "broken.mp3", b"ID3" + b"\x00" * 500)
    db = tmp_path / "lib.sqlite"
    monkeypatch.setattr(features, "logmel", broken)
    summary = scan(music, db)
    assert sorted(Path(f.path).name for f in summary.internal) == ["a.wav", "b.wav", "c.wav"]
    assert {f.error for f in summary.internal} == {"UnexpectedError"}
    assert [Path(f.path).name for f in summary.failures] == ["broken.mp3"] and summary.analysed == 0
    assert set(failed(db)) == {"broken.mp3"} and rows(db) == {}
    monkeypatch.setenv("MOODMAP_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        scan(music, db)
    (music / "a.wav").unlink(), (music / "b.wav").unlink(), (music / "c.wav").unlink()
    assert [Path(f.path).name for f in scan(music, db, retry_failed=True).failures] == ["broken.mp3"]


def test_a_worker_that_kept_dying_is_reported_as_its_files_crash():
    task = AnalyseTask("/music/a.mp3", 1, 2, "f", DEFAULT_MODEL, "sha", False, 5.0)
    assert _crashed(task, "killed by signal 9") == Failure("/music/a.mp3", "WorkerCrashed", "killed by signal 9")


# ------------------------------------------------------------------ dry runs, interruptions, names of one file
def test_a_dry_run_analyses_and_counts_but_changes_nothing(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    summary = scan(music, db, dry_run=True, write_tags=True)
    assert (summary.analysed, summary.dry_run, summary.failures) == (3, True, []) and not db.exists()
    would = dict(summary.tag_changes)  # the tags the new files would get, from their analysis
    scan(music, db)
    assert set(would) == {row["path"] for row in rows(db).values()}
    for row in rows(db).values():
        assert would[row["path"]] == {"VALENCE": (None, f"{row['valence']:.3f}"),
                                      "AROUSAL": (None, f"{row['arousal']:.3f}"), "MOOD": (None, row["emotion"]),
                                      "MOODMAP_QUADRANT": (None, row["quadrant"]),
                                      "MOODMAP_MODEL": (None, f"{DEFAULT_MODEL} sha256:{SHA[:12]}")}
    (music / "a.wav").rename(music / "moved.wav")
    (music / "b.wav").unlink()
    dummy(music / "broken.mp3", b"ID3" + b"\x00" * 500)
    before = {p.name: p.read_bytes() for p in db.parent.glob("lib.sqlite*")}
    summary = scan(music, db, dry_run=True, write_tags=True)
    assert (summary.moved, summary.pruned, summary.analysed, len(summary.failures)) == (1, 1, 0, 1)
    assert summary.tag_changes and summary.tags_written == 0
    assert {p.name: p.read_bytes() for p in db.parent.glob("lib.sqlite*")} == before
    assert set(rows(db)) == {"a.wav", "b.wav", "c.wav"} and failed(db) == {}


def test_a_scan_stopped_with_ctrl_c_keeps_what_was_analysed_and_tags_nothing(music, tmp_path):
    db = tmp_path / "lib.sqlite"

    def stop_after_one(done, total):
        if done == 1:
            raise KeyboardInterrupt

    summary = scan(music, db, progress=stop_after_one, write_tags=True)
    assert summary.interrupted and summary.analysed == 1 and summary.tags_written == 0
    assert set(rows(db)) == {"b.wav"}
    with Library(db) as library:
        assert library.journaled() == []


def test_written_tags_are_journaled_and_a_rescan_finds_the_files_unchanged(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    summary = scan(music, db, write_tags=True)
    assert summary.tags_written == 3
    with Library(db) as library:
        assert len(library.journaled()) == 3
    assert scan(music, db).unchanged == 3


def test_a_hard_link_and_a_symlink_are_one_song_analysed_once(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    os.link(music / "a.wav", music / "hard.wav")
    (music / "soft.wav").symlink_to(music / "a.wav")
    summary = scan(music, db)
    assert (summary.analysed, summary.unchanged) == (1, 2)
    found = rows(db)
    assert set(found) == {"a.wav", "hard.wav", "soft.wav"}
    assert len({(r["valence"], r["file_id"], r["fingerprint"]) for r in found.values()}) == 1
    assert found["hard.wav"]["id"] != found["a.wav"]["id"]
    again = scan(music, db)
    assert (again.analysed, again.unchanged) == (0, 3)


def test_a_new_name_of_an_indexed_file_takes_its_song_without_analysis(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    scan(music, db)
    os.link(music / "a.wav", music / "hard.wav")
    summary = scan(music, db)
    assert (summary.analysed, summary.moved, summary.unchanged) == (0, 0, 2)
    assert rows(db)["hard.wav"]["valence"] == rows(db)["a.wav"]["valence"]


def test_an_index_from_before_file_ids_learns_them_without_analysing(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    scan(music, db)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE songs SET file_id = NULL")
    summary = scan(music, db)
    assert (summary.analysed, summary.unchanged) == (0, 3)
    assert {name: row["file_id"] for name, row in rows(db).items()} == {
        name: file_id((music / name).stat()) for name in ("a.wav", "b.wav", "c.wav")}


# ------------------------------------------------------------------ tags written by a scan
def id3v22_mp3(path: Path) -> Path:
    """A decodable mp3 whose ID3v2.2 tag (three-letter frames, as old iTunes wrote) moodmap will not rewrite."""
    from mutagen.id3 import ID3

    write_audio(path, tone(6.0, 22050), 22050)
    frames = b"TT2" + (6).to_bytes(3, "big") + b"\0Title"
    path.write_bytes(b"ID3\x02\x00\x00" + bytes((0, 0, 0, len(frames))) + frames + path.read_bytes())
    assert ID3(str(path)).version[:2] == (2, 2)
    return path


def test_a_file_that_cannot_be_tagged_is_a_tag_failure_of_its_folder_until_it_can_be(music, tmp_path):
    from mutagen.id3 import ID3

    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    old = id3v22_mp3(music / "old.mp3")
    elsewhere = str(tmp_path / "Other" / "x.mp3")
    with Library(db) as library:  # an earlier scan of another folder could not tag one of its files
        library.record_tag_failures([tmp_path / "Other"], [Failure(elsewhere, "TagWriteError", "read-only")])
    dry = scan(music, db, write_tags=True, dry_run=True)
    assert [(Path(f.path).name, f.error) for f in dry.failures] == [("old.mp3", "TagWriteError")]
    assert [r["path"] for r in Library(db).failure_list()] == [elsewhere]  # a dry run records nothing
    summary = scan(music, db, write_tags=True)
    assert [(Path(f.path).name, f.error) for f in summary.failures] == [("old.mp3", "TagWriteError")]
    assert summary.analysed == 2 and set(rows(db)) == {"a.wav", "old.mp3"}
    listed = {Path(r["path"]).name: r["error"] for r in Library(db).failure_list()}
    assert listed == {"old.mp3": "TagWriteError", "x.mp3": "TagWriteError"}
    with Library(db) as library:
        assert library.failures() == {}  # not an analysis failure: never skipped by a scan
    ID3(str(old)).save(v2_version=3)  # converted, as the error says to
    scan(music, db, write_tags=True)
    assert {Path(r["path"]).name for r in Library(db).failure_list()} == {"x.mp3"}


def test_tags_are_written_only_under_the_scanned_folders_and_a_users_mood_is_kept(music, tmp_path):
    from moodmap.library.tags import read_mood_tags, write_mood_tags

    db = tmp_path / "lib.sqlite"
    other = tmp_path / "Other"
    other.mkdir()
    (music / "c.wav").rename(other / "c.wav")
    scan(other, db)
    write_mood_tags(music / "b.wav", {"MOOD": "groovy"})  # the user's own
    summary = scan(music, db, write_tags=True)
    assert summary.tags_written == 2
    assert read_mood_tags(other / "c.wav") == {}
    assert read_mood_tags(music / "b.wav")["MOOD"] == "groovy"
    assert read_mood_tags(music / "a.wav")["MOOD"] == rows(db)["a.wav"]["emotion"]


def test_a_hard_link_to_a_song_indexed_outside_the_scanned_folder_takes_that_song(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    other = tmp_path / "Other"
    other.mkdir()
    os.link(music / "a.wav", other / "a.wav")
    scan(other, db)
    summary = scan(music, db)  # the file is indexed, as it is, under its other name
    assert (summary.analysed, summary.unchanged, summary.skipped_failed, summary.failures) == (0, 1, 0, [])
    with Library(db) as library:
        assert library.song(str(music.resolve() / "a.wav"))["valence"] == library.song(
            str(other.resolve() / "a.wav"))["valence"]
    fresh = tmp_path / "fresh.sqlite"
    scan(other, fresh)
    assert scan(music, fresh, timeline=True).analysed == 1  # indexed without the timeline asked for


def test_a_changed_file_with_several_indexed_names_is_analysed_once_for_all(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    os.link(music / "a.wav", music / "hard.wav")
    (music / "soft.wav").symlink_to(music / "a.wav")
    scan(music, db)
    write_audio(music / "a.wav", tone(7.0, RATE, freqs=(600.0,)), RATE)  # rewritten in place: the same file
    summary = scan(music, db)
    assert (summary.analysed, summary.unchanged, summary.skipped_failed) == (1, 2, 0)
    found = rows(db)
    assert len({(r["valence"], r["fingerprint"], r["size"]) for r in found.values()}) == 1
    assert found["a.wav"]["size"] == (music / "a.wav").stat().st_size


@pytest.mark.parametrize("first, other", [("a.wav", "z-link.wav"), ("b.wav", "b-link.wav")])
def test_a_moved_file_given_a_second_name_is_moved_once_and_the_name_takes_its_song(music, tmp_path, first, other):
    """``first`` is the name that stands for the file (the shorter), found before or after ``other``."""
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    (music / "a.wav").rename(music / "x.wav")
    scan(music, db)
    before = rows(db)["x.wav"]
    (music / "sub").mkdir()
    (music / "x.wav").rename(music / "sub" / first)
    os.link(music / "sub" / first, music / "sub" / other)
    summary = scan(music, db)
    assert (summary.moved, summary.analysed, summary.unchanged, summary.pruned) == (1, 0, 1, 0)
    found = rows(db)
    assert found[first]["id"] == before["id"] and found[other]["valence"] == before["valence"]


def test_several_songs_moved_at_once_are_all_counted(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    files = [dummy(music / "old" / f"{i}.mp3", bytes([i]) * 64) for i in range(3)]
    indexed(db, *files)
    for path in files:
        path.rename(music / path.name)
    assert scan(music, db, exclude=["*.wav"]).moved == 3


def test_a_song_overwritten_with_a_vanished_songs_content_is_analysed_not_moved(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    scan(music, db)
    shutil.copy(music / "b.wav", music / "a.wav")
    (music / "b.wav").unlink()
    summary = scan(music, db)
    assert (summary.moved, summary.analysed, summary.pruned) == (0, 1, 1)
    assert set(rows(db)) == {"a.wav", "c.wav"}


def test_a_file_that_cannot_be_read_for_its_fingerprint_is_a_failure_and_the_scan_goes_on(music, tmp_path,
                                                                                           monkeypatch):
    import moodmap.library.scan as scan_module

    real = scan_module.fingerprint

    def failing(path, size):  # an I/O error on the first file read (a NAS dropping out, a bad sector)
        if path.name == "0 bad.mp3":
            raise PermissionError(13, "Permission denied")
        return real(path, size)

    monkeypatch.setattr(scan_module, "fingerprint", failing)
    bad = dummy(music / "0 bad.mp3", b"q" * 99)
    db = tmp_path / "lib.sqlite"
    summary = scan(music, db)
    assert [(f.path, f.error, f.reason) for f in summary.failures] == [
        (str(bad.resolve()), "UnreadableFileError", "Permission denied")]
    assert summary.analysed == 3
    record = failed(db)["0 bad.mp3"]
    assert (record["size"], record["mtime_ns"]) == (99, bad.stat().st_mtime_ns)


def test_every_name_of_a_file_that_failed_is_skipped_with_it(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    broken = dummy(music / "0 broken.mp3", b"ID3" + b"\x00" * 500)
    os.link(broken, music / "0 broken again.mp3")
    dummy(music / "1 broken.mp3", b"ID3" + b"\x01" * 500)
    first = scan(music, db)
    assert sorted(Path(f.path).name for f in first.failures) == ["0 broken.mp3", "1 broken.mp3"]
    assert first.analysed == 3
    again = scan(music, db)
    assert (again.skipped_failed, again.unchanged, again.failures) == (3, 3, [])
    assert set(rows(db)) == {"a.wav", "b.wav", "c.wav"}


def test_a_new_name_that_would_stand_for_the_file_still_takes_the_indexed_song(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    scan(music, db)
    os.link(music / "a.wav", music / "0.wav")  # as short, and first in order: the indexed name still stands
    summary = scan(music, db)
    assert (summary.analysed, summary.unchanged) == (0, 2)
    assert rows(db)["0.wav"]["valence"] == rows(db)["a.wav"]["valence"]


@pytest.mark.parametrize("policy, mood", [("keep", "groovy"), ("replace", None), ("skip", "groovy")])
def test_a_users_mood_tag_is_kept_replaced_or_left_as_asked(music, tmp_path, policy, mood):
    from moodmap.library.tags import read_mood_tags, write_mood_tags

    db = tmp_path / "lib.sqlite"
    for name in ("b.wav", "c.wav"):
        (music / name).unlink()
    write_mood_tags(music / "a.wav", {"MOOD": "groovy"})
    scan(music, db, write_tags=True, mood_tag=policy)
    tags = read_mood_tags(music / "a.wav")
    assert tags["MOOD"] == (mood or rows(db)["a.wav"]["emotion"]) and "VALENCE" in tags
    with pytest.raises(MoodmapError, match="^mood_tag must be one of keep, replace, skip"):
        scan(music, db, write_tags=True, mood_tag="bogus")


def test_a_mass_removal_over_several_folders_names_them_all(tmp_path):
    db = tmp_path / "lib.sqlite"
    a = [dummy(tmp_path / "A" / f"a{i}.mp3", bytes([i]) * 64) for i in range(5)]
    b = [dummy(tmp_path / "B" / f"b{i}.mp3", bytes([10 + i]) * 64) for i in range(5)]
    indexed(db, *a, *b)
    for path in (a[0], a[1], b[0]):
        path.unlink()
    assert refusal([tmp_path / "A", tmp_path / "B"], db).startswith(
        f"3 of the 10 indexed songs under {(tmp_path / 'A').resolve()}, {(tmp_path / 'B').resolve()} are missing — "
        "more than 20% of the index at once")


def test_a_file_whose_worker_keeps_dying_is_its_failure_on_the_engine_asked_for(music, tmp_path, monkeypatch):
    """The engine's report of a worker that died on every try (tests/test_engines.py kills real ones)
    stands in for the crash; the rest run for real on the engine the scan was given."""
    import moodmap.library.scan as scan_module
    from moodmap.core.engines import Engine, run_tasks

    engine = Engine("local")  # not the default one: the scan must pass on the one it was given
    given = {}

    def engine_reporting_a_crash(function, tasks, jobs=None, *, on_crash=None, **kwargs):
        given.update(kwargs, on_crash=on_crash)
        tasks = list(tasks)
        crashing = [t for t in tasks if t.path.endswith("b.wav")]
        yield from ((task, on_crash(task, "its worker died 3 times")) for task in crashing)
        yield from run_tasks(function, [t for t in tasks if t not in crashing], jobs, on_crash=on_crash, **kwargs)

    monkeypatch.setattr(scan_module, "run_tasks", engine_reporting_a_crash)
    db = tmp_path / "lib.sqlite"
    summary = scan(music, db, engine=engine)
    assert given["engine"] is engine and given["batch"] >= 1
    assert summary.analysed == 2 and summary.failures == [
        Failure(str(music.resolve() / "b.wav"), "WorkerCrashed", "its worker died 3 times")]
    assert failed(db)["b.wav"]["error"] == "WorkerCrashed" and set(rows(db)) == {"a.wav", "c.wav"}
