"""What watch.py decides, each in a test that fails when the line holding it is changed (mutation
testing, ``make mutation MODULES=watch``): which file-system events count as changes, when a
changing file has settled, which files the index already holds as they are, which songs went,
which new file is a copy of one still there, what a rescan leaves out, and when the watcher
rescans at all and whether it may remove songs yet. In process, with the rescan itself recorded
instead of run (tests/test_watch.py runs the real watcher); each test well under a second."""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import moodmap.library.watch as watch
from moodmap.core.checksums import fingerprint
from moodmap.core.errors import MoodmapError
from moodmap.library.index import Library
from moodmap.library.scan import ScanSummary
from moodmap.library.watch import Changes, Index, _Handler, _new_files, _relative, _Watch, watch_jobs


class Clock:
    """time.monotonic for watch.py, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(watch.time, "monotonic", clock)
    return clock


def audio(path: Path, content: bytes = b"x" * 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


SONG = {"valence": 0.5, "arousal": 0.5, "quadrant": None, "emotion": "neutral", "model": "test", "model_sha": "x",
        "analysed_at": "2026-11-30T00:00:00"}


def indexed(db: Path, *songs: Path, failed: tuple[Path, ...] = ()) -> None:
    """An index holding ``songs`` as they are now (and ``failed`` as failures)."""
    from moodmap.core.errors import Failure

    with Library(db) as library:
        for song in songs:
            st = song.stat()
            library.save({"path": str(song), "fingerprint": fingerprint(song, st.st_size), "size": st.st_size,
                          "mtime_ns": st.st_mtime_ns, **SONG})
        for path in failed:
            st = path.stat()
            library.fail(Failure(str(path), "DecodeError", "not audio"), st.st_size, st.st_mtime_ns, "test", "x")


# ------------------------------------------------------------------ events
def event(kind: str, src: str, dest: str = "", directory: bool = False):
    """An event as watchdog 4 (the oldest the package allows) makes it: only a move has a dest_path."""
    if dest:
        return SimpleNamespace(event_type=kind, src_path=src, dest_path=dest, is_directory=directory)
    return SimpleNamespace(event_type=kind, src_path=src, is_directory=directory)


def handled(*events) -> list[str]:
    import queue

    found: queue.SimpleQueue[str] = queue.SimpleQueue()
    handler = _Handler(found)
    for e in events:
        handler.dispatch(e)
    return [found.get() for _ in range(found.qsize())]


def test_only_events_that_can_change_an_audio_file_count():
    assert handled(event("created", "/m/a.flac"), event("modified", "/m/b.MP3"), event("closed", "/m/c.ogg"),
                   event("deleted", "/m/d.wav"), event("opened", "/m/e.flac"), event("closed_no_write", "/m/f.flac"),
                   event("modified", "/m/cover.jpg"), event("created", "/m/notes.txt")) == \
        ["/m/a.flac", "/m/b.MP3", "/m/c.ogg", "/m/d.wav"]


def test_a_move_counts_at_both_ends_and_a_folder_event_by_its_path():
    assert handled(event("moved", "/m/a.flac", "/m/b.flac"), event("moved", "/m/Album", "/m/Album 2", directory=True),
                   event("created", "/m/New", directory=True), event("deleted", "/m/Old", directory=True)) == \
        ["/m/a.flac", "/m/b.flac", "/m/Album", "/m/Album 2", "/m/New", "/m/Old"]


def test_a_folders_own_modification_is_not_a_change():
    assert handled(event("modified", "/m/Album", directory=True)) == []


def test_an_event_path_given_as_bytes_is_decoded():
    assert handled(event("created", os.fsencode("/m/é.flac"))) == ["/m/é.flac"]


def test_the_watcher_leaves_one_core_free(monkeypatch):
    monkeypatch.setattr(watch, "default_jobs", lambda: 4)
    assert watch_jobs() == 3
    monkeypatch.setattr(watch, "default_jobs", lambda: 1)
    assert watch_jobs() == 1


# ------------------------------------------------------------------ settling
def test_a_path_settles_once_it_stood_still_for_the_settle_time(tmp_path, clock):
    song = audio(tmp_path / "a.flac")
    changes = Changes(settle=2.0)
    changes.touch(str(song))
    assert changes.split() == ([], [str(song)])
    clock.now += 1.9
    assert changes.split() == ([], [str(song)])
    clock.now += 0.1
    assert changes.split() == ([str(song)], [])


def test_a_path_still_growing_starts_its_settle_time_again(tmp_path, clock):
    song = audio(tmp_path / "a.flac")
    changes = Changes(settle=2.0)
    changes.touch(str(song))
    clock.now += 5
    audio(song, b"x" * 128)  # grew since it was looked at
    assert changes.split() == ([], [str(song)])
    clock.now += 1.9
    assert changes.split() == ([], [str(song)])
    clock.now += 0.1
    assert changes.split() == ([str(song)], [])


def test_a_path_that_went_settles_too_and_forgotten_paths_are_not_looked_at(tmp_path, clock):
    gone, kept = tmp_path / "gone.flac", audio(tmp_path / "kept.flac")
    changes = Changes(settle=1.0)
    changes.touch(str(gone))
    changes.touch(str(kept))
    clock.now += 1
    assert changes.split() == ([str(gone), str(kept)], [])
    changes.forget([str(gone), str(tmp_path / "never.flac")])
    assert changes.split() == ([str(kept)], [])


# ------------------------------------------------------------------ the index as it is
def test_the_index_holds_a_song_or_a_failure_only_as_it_is_now(tmp_path):
    song, bad, new = audio(tmp_path / "a.flac"), audio(tmp_path / "b.mp3"), audio(tmp_path / "c.flac")
    indexed(tmp_path / "lib.sqlite", song, failed=(bad,))
    index = Index(tmp_path / "lib.sqlite")
    assert index.holds(str(song)) and index.holds(str(bad)) and not index.holds(str(new))
    assert not index.holds(str(tmp_path / "gone.flac"))
    audio(song, b"y" * 65)
    audio(bad, b"z" * 3)
    assert not index.holds(str(song)) and not index.holds(str(bad))


def test_without_an_index_every_file_is_new(tmp_path):
    song = audio(tmp_path / "a.flac")
    index = Index(tmp_path / "none.sqlite")
    assert not index.holds(str(song)) and index.songs == {} and index.failed == {}


def test_the_songs_gone_are_those_at_or_below_the_path_and_no_longer_there(tmp_path):
    album, other = tmp_path / "Album", tmp_path / "Album 2"
    songs = [audio(album / "a.flac"), audio(album / "Disc 2" / "b.flac"), audio(other / "c.flac"),
             audio(tmp_path / "Album.flac")]
    indexed(tmp_path / "lib.sqlite", *songs)
    for song in songs:
        song.unlink()
    index = Index(tmp_path / "lib.sqlite")
    assert sorted(index.gone(str(album))) == sorted([str(songs[0]), str(songs[1])])
    assert index.gone(str(album) + os.sep) == index.gone(str(album))
    assert index.gone(str(songs[3])) == [str(songs[3])]
    assert index.gone(str(tmp_path / "elsewhere")) == []


def test_a_song_whose_file_is_back_or_a_dangling_link_is_not_gone(tmp_path):
    song, link = audio(tmp_path / "a.flac"), tmp_path / "b.flac"
    link.symlink_to(tmp_path / "nowhere.flac")
    indexed(tmp_path / "lib.sqlite", song)
    with Library(tmp_path / "lib.sqlite") as library:
        library.save({"path": str(link), "fingerprint": "f", "size": 1, "mtime_ns": 1, **SONG})
    assert Index(tmp_path / "lib.sqlite").gone(str(tmp_path)) == []


def test_a_new_file_with_an_indexed_songs_content_is_its_copy_while_the_original_is_there(tmp_path):
    original = audio(tmp_path / "a.flac", b"song" * 100)
    indexed(tmp_path / "lib.sqlite", original)
    copy, other = audio(tmp_path / "b.flac", b"song" * 100), audio(tmp_path / "c.flac", b"else" * 100)
    index = Index(tmp_path / "lib.sqlite")
    assert index.original(str(copy)) == str(original)
    assert index.original(str(other)) is None and index.original(str(original)) is None  # not its own copy
    assert index.original(str(tmp_path / "gone.flac")) is None
    original.unlink()
    assert Index(tmp_path / "lib.sqlite").original(str(copy)) is None  # a move, not a copy


def test_the_new_files_are_the_audio_files_the_index_does_not_hold(tmp_path):
    album = tmp_path / "Album"
    held, new, loud = audio(album / "a.flac"), audio(album / "Disc 2" / "b.flac"), audio(album / "C.FLAC")
    audio(album / "cover.jpg")
    indexed(tmp_path / "lib.sqlite", held)
    index = Index(tmp_path / "lib.sqlite")
    assert sorted(_new_files(str(album), index)) == sorted([str(new), str(loud)])
    assert _new_files(str(new), index) == [str(new)] and _new_files(str(loud), index) == [str(loud)]
    assert _new_files(str(held), index) == [] and _new_files(str(album / "cover.jpg"), index) == []
    assert _new_files(str(album / "gone.flac"), index) == []
    (album / "folder.flac").mkdir()
    assert _new_files(str(album / "folder.flac"), index) == []


def test_a_file_still_changing_is_left_out_of_the_rescan_by_a_literal_pattern(tmp_path):
    music, other = tmp_path / "music", tmp_path / "other"
    patterns = _relative([str(music / "Album [Live]" / "a*.flac"), str(other / "b.flac"), str(tmp_path / "c.flac")],
                         [music, other])
    assert patterns == ["Album [[]Live]/a[*].flac", "b.flac"]


# ------------------------------------------------------------------ when to rescan
class Recorded(_Watch):
    """The watcher with its rescans recorded (moving, keep_gone), not run."""

    def __init__(self, tmp_path: Path, settle: float = 1.0, grace: float = 10.0) -> None:
        super().__init__([tmp_path / "music"], tmp_path / "lib.sqlite", settle, grace, ("*.tmp",), {"jobs": 1})
        self.rescans: list[tuple[list[str], bool]] = []

    def rescan(self, moving, keep_gone):
        self.rescans.append((list(moving), keep_gone))
        return ScanSummary()


def test_nothing_changed_no_rescan_and_a_settled_new_file_one(tmp_path, clock):
    watcher = Recorded(tmp_path)
    assert watcher.step() == [] and watcher.rescans == []
    song = audio(tmp_path / "music" / "a.flac")
    watcher.changes.touch(str(song))
    assert watcher.step() == [] and watcher.rescans == []  # not settled yet
    clock.now += 1
    assert watcher.step() == [ScanSummary()] and watcher.rescans == [([], False)]
    assert watcher.step() == [] and len(watcher.rescans) == 1  # looked at once


def test_a_settled_file_the_index_holds_as_it_is_starts_no_rescan(tmp_path, clock):
    song = audio(tmp_path / "music" / "a.flac")
    indexed(tmp_path / "lib.sqlite", song)
    watcher = Recorded(tmp_path)
    watcher.changes.touch(str(song))
    clock.now += 1
    assert watcher.step() == [] and watcher.rescans == []


def test_a_new_file_rescans_leaving_out_what_is_still_changing(tmp_path, clock):
    done, busy = audio(tmp_path / "music" / "a.flac"), audio(tmp_path / "music" / "b.flac")
    watcher = Recorded(tmp_path)
    watcher.changes.touch(str(done))
    clock.now += 1
    watcher.changes.touch(str(busy))
    watcher.step()
    assert watcher.rescans == [([str(busy)], True)]  # songs that went are kept while anything settles


def test_a_song_that_went_is_removed_only_after_the_grace_time(tmp_path, clock):
    song, other = audio(tmp_path / "music" / "a.flac"), audio(tmp_path / "music" / "b.flac")
    indexed(tmp_path / "lib.sqlite", song, other)
    watcher = Recorded(tmp_path, grace=10.0)
    song.unlink()
    watcher.changes.touch(str(song))
    clock.now += 1
    assert watcher.step() == [] and watcher.gone == {str(song): clock.now}  # within grace: nothing to do yet
    clock.now += 9.5
    assert watcher.step() == []
    clock.now += 0.5
    assert watcher.step() == [ScanSummary()] and watcher.rescans == [([], False)] and watcher.gone == {}


def test_a_song_back_before_the_grace_time_is_not_gone(tmp_path, clock):
    song = audio(tmp_path / "music" / "a.flac")
    indexed(tmp_path / "lib.sqlite", song)
    watcher = Recorded(tmp_path, grace=10.0)
    data = song.read_bytes()
    song.unlink()
    watcher.changes.touch(str(song))
    clock.now += 1
    watcher.step()
    audio(song, data)
    clock.now += 20
    assert watcher.step() == [] and watcher.gone == {} and watcher.rescans == []


def test_a_rescan_while_a_song_is_gone_within_grace_keeps_it_and_remembers_it(tmp_path, clock):
    song, new = audio(tmp_path / "music" / "a.flac"), tmp_path / "music" / "b.flac"
    indexed(tmp_path / "lib.sqlite", song)
    watcher = Recorded(tmp_path, grace=10.0)
    song.unlink()
    watcher.changes.touch(str(song))
    clock.now += 1
    watcher.step()
    since = clock.now
    audio(new, b"another song")
    watcher.changes.touch(str(new))
    clock.now += 1
    watcher.step()
    assert watcher.rescans == [([], True)] and watcher.gone == {str(song): since}


def test_a_copy_waits_for_its_original_to_go_then_is_scanned_as_a_move(tmp_path, clock):
    original = audio(tmp_path / "music" / "a.flac", b"song" * 100)
    indexed(tmp_path / "lib.sqlite", original)
    watcher = Recorded(tmp_path, grace=10.0)
    copy = audio(tmp_path / "music" / "b.flac", b"song" * 100)
    watcher.changes.touch(str(copy))
    clock.now += 1
    assert watcher.step() == [] and watcher.copies == {str(copy): (str(original), clock.now)}
    clock.now += 2
    original.unlink()
    watcher.changes.touch(str(original))
    assert watcher.step() == [ScanSummary()] and watcher.copies == {}
    assert watcher.rescans == [([str(original)], True)]  # its deletion still settling: nothing removed yet


def test_a_copy_whose_original_stays_is_scanned_once_the_grace_time_passed(tmp_path, clock):
    original = audio(tmp_path / "music" / "a.flac", b"song" * 100)
    indexed(tmp_path / "lib.sqlite", original)
    watcher = Recorded(tmp_path, grace=10.0)
    copy = audio(tmp_path / "music" / "b.flac", b"song" * 100)
    watcher.changes.touch(str(copy))
    clock.now += 1
    watcher.step()
    clock.now += 9.9
    assert watcher.step() == [] and watcher.rescans == []
    clock.now += 0.1
    assert watcher.step() == [ScanSummary()] and watcher.rescans == [([], False)] and watcher.copies == {}


def test_an_indexed_file_rewritten_with_another_songs_content_is_rescanned_at_once(tmp_path, clock):
    """Not a copy waiting for its original: the file was indexed, it changed (the user replaced its audio)."""
    first, second = audio(tmp_path / "music" / "a.flac", b"song" * 100), audio(tmp_path / "music" / "b.flac", b"other")
    indexed(tmp_path / "lib.sqlite", first, second)
    watcher = Recorded(tmp_path, grace=10.0)
    audio(second, b"song" * 100)
    watcher.changes.touch(str(second))
    clock.now += 1
    assert watcher.step() == [ScanSummary()] and watcher.copies == {} and watcher.rescans == [([], False)]


def test_a_song_the_rescan_took_out_of_the_index_is_no_longer_waited_for(tmp_path, clock):
    """A song gone within its grace, then a rescan that resolved it (found at its new name): nothing more waits."""
    song, other = audio(tmp_path / "music" / "a.flac"), audio(tmp_path / "music" / "b.flac", b"other")
    db = tmp_path / "lib.sqlite"
    indexed(db, song, other)
    watcher = Recorded(tmp_path, grace=10.0)

    def rescan(moving, keep_gone):
        watcher.rescans.append((list(moving), keep_gone))
        with Library(db) as library:
            library.prune([str(song)])  # what the scan did with it
        return ScanSummary()

    watcher.rescan = rescan
    song.unlink()
    new = audio(tmp_path / "music" / "c.flac", b"new")
    watcher.changes.touch(str(song))
    watcher.changes.touch(str(new))
    clock.now += 1
    watcher.step()
    assert watcher.rescans == [([], True)] and watcher.gone == {}
    clock.now += 20
    assert watcher.step() == []


def test_a_copy_deleted_while_it_waits_is_forgotten(tmp_path, clock):
    original = audio(tmp_path / "music" / "a.flac", b"song" * 100)
    indexed(tmp_path / "lib.sqlite", original)
    watcher = Recorded(tmp_path, grace=10.0)
    copy = audio(tmp_path / "music" / "b.flac", b"song" * 100)
    watcher.changes.touch(str(copy))
    clock.now += 1
    watcher.step()
    copy.unlink()
    clock.now += 20
    assert watcher.step() == [] and watcher.copies == {} and watcher.rescans == []


def test_a_rescan_leaves_out_the_changing_files_and_the_waiting_copies(tmp_path, monkeypatch):
    seen = {}

    def scan(folders, db, **options):
        seen.update(options, folders=folders, db=db)
        return ScanSummary(files=7)

    monkeypatch.setattr(watch, "scan_library", scan)
    music = tmp_path / "music"
    watcher = _Watch([music], tmp_path / "lib.sqlite", 1.0, 10.0, ("*.tmp",), {"jobs": 2})
    watcher.copies = {str(music / "copy.flac"): (str(music / "a.flac"), 0.0)}
    assert watcher.rescan([str(music / "Album" / "busy.flac")], keep_gone=True) == ScanSummary(files=7)
    assert seen == {"folders": [music], "db": tmp_path / "lib.sqlite", "jobs": 2, "keep_gone": True,
                    "exclude": ("*.tmp", "Album/busy.flac", "copy.flac")}


def test_a_refused_rescan_is_reported_not_raised(tmp_path, monkeypatch):
    def refuse(*args, **options):
        raise MoodmapError(tmp_path, "the share is not mounted")

    monkeypatch.setattr(watch, "scan_library", refuse)
    outcome = _Watch([tmp_path], tmp_path / "lib.sqlite", 1.0, 10.0, (), {}).rescan([], keep_gone=False)
    assert isinstance(outcome, MoodmapError) and "not mounted" in str(outcome)


# ------------------------------------------------------------------ the loop
def test_the_watch_scans_first_then_stops_when_told(tmp_path, monkeypatch):
    calls, reports = [], []

    def scan(folders, db, **options):
        calls.append(options)
        return ScanSummary(files=len(calls))

    monkeypatch.setattr(watch, "scan_library", scan)
    monkeypatch.setattr(watch, "TICK", 0.01)
    monkeypatch.setattr(watch, "default_jobs", lambda: 3)
    (tmp_path / "music").mkdir()
    ticks = iter(range(3))
    watch.watch_library(tmp_path / "music", tmp_path / "lib.sqlite", report=reports.append,
                        stop=lambda: next(ticks, None) is None)
    assert calls == [{"exclude": (), "keep_gone": False, "jobs": 2}] and reports == [ScanSummary(files=1)]


def test_a_scan_interrupted_by_ctrl_c_stops_the_watch(tmp_path, monkeypatch):
    monkeypatch.setattr(watch, "scan_library", lambda *a, **o: ScanSummary(interrupted=True))
    monkeypatch.setattr(watch, "TICK", 0.01)
    monkeypatch.setattr(_Watch, "step", lambda self: [ScanSummary(interrupted=True)])
    (tmp_path / "music").mkdir()
    reports = []
    with pytest.raises(KeyboardInterrupt):
        watch.watch_library(tmp_path / "music", tmp_path / "lib.sqlite", report=reports.append, jobs=1)
    assert len(reports) == 2


def test_jobs_given_are_the_ones_used(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(watch, "scan_library", lambda folders, db, **options: calls.append(options) or ScanSummary())
    monkeypatch.setattr(watch, "default_jobs", lambda: 3)
    (tmp_path / "music").mkdir()
    watch.watch_library(tmp_path / "music", tmp_path / "lib.sqlite", stop=lambda: True, jobs=1)
    assert [options["jobs"] for options in calls] == [1]


def test_the_apis_waits_are_the_programs(tmp_path, monkeypatch):
    """watch_library called without settle or grace waits as `moodmap scan --watch` does by default."""
    import inspect

    from moodmap.cli.music import scan

    used = []

    class Noted(_Watch):
        def __init__(self, folders, db_path, settle, grace, exclude, options):
            super().__init__(folders, db_path, settle, grace, exclude, options)
            used.append((self.changes.settle, self.grace))

    monkeypatch.setattr(watch, "_Watch", Noted)
    monkeypatch.setattr(watch, "scan_library", lambda *a, **o: ScanSummary())
    (tmp_path / "music").mkdir()
    watch.watch_library(tmp_path / "music", tmp_path / "lib.sqlite", stop=lambda: True, jobs=1)
    cli = inspect.signature(scan).parameters
    assert used == [(cli["settle"].default, cli["grace"].default)] == [(2.0, 60.0)]


def test_changes_anywhere_below_a_watched_folder_rescan_and_a_song_gone_is_removed_after_its_grace(tmp_path,
                                                                                                   monkeypatch):
    """The whole loop in process, the scans recorded: the first scan; a song deleted and a new file made in
    a subfolder, both settled: a rescan that keeps the gone song (its grace runs); once the grace has
    passed, a rescan that removes it."""
    music = tmp_path / "music"
    gone = audio(music / "Album" / "a.flac", b"old song")
    db = tmp_path / "lib.sqlite"
    indexed(db, gone)
    calls, reports = [], []

    def scan(folders, db_path, **options):
        calls.append((folders, db_path, options["keep_gone"], options["exclude"]))
        if len(calls) == 1:  # after the first scan, while watching
            gone.unlink()
            audio(music / "Album" / "Disc 2" / "new.flac", b"new song")
        return ScanSummary()

    monkeypatch.setattr(watch, "scan_library", scan)
    monkeypatch.setattr(watch, "TICK", 0.02)
    deadline = time.monotonic() + 15
    try:
        watch.watch_library(music, db, settle=0.2, grace=1.0, stop=lambda: len(calls) >= 3 or time.monotonic() > deadline,
                            exclude=("*.tmp",), jobs=1, report=reports.append)
    except KeyboardInterrupt:  # (a failure of this test, not the end of the test run)
        pytest.fail("the watch stopped as if Ctrl-C had been pressed")
    assert calls == [([music], db, False, ("*.tmp",)), ([music], db, True, ("*.tmp",)), ([music], db, False, ("*.tmp",))]
    assert reports == [ScanSummary()] * 3


def test_stopping_waits_at_most_ten_seconds_for_the_file_system_observer(tmp_path, monkeypatch):
    import watchdog.observers

    joined = []

    class Observer:  # one that would never stop by itself
        def schedule(self, handler, path, recursive):
            pass

        def start(self):
            pass

        def stop(self):
            pass

        def join(self, timeout=None):
            joined.append(timeout)

    monkeypatch.setattr(watchdog.observers, "Observer", Observer)
    monkeypatch.setattr(watch, "scan_library", lambda *a, **o: ScanSummary())
    (tmp_path / "music").mkdir()
    watch.watch_library(tmp_path / "music", tmp_path / "lib.sqlite", stop=lambda: True, jobs=1)
    assert joined == [10]
