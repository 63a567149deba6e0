"""What tagging.py promises, each in a test that fails when the line holding it is changed (mutation
testing, ``make mutation MODULES=tagging``): the mood policy (a user's MOOD kept, moodmap's own
replaced), only the scanned folders tagged, a file under several names tagged once and every name
re-recorded, a dry run changing nothing, untag limited to its folders, a tag the user changed since
left alone, and a failure's reason said once, without the path the failure line already names.
Through the public functions on an index made here, small files (each test well under a second)."""
from __future__ import annotations

import os
from pathlib import Path

import mutagen
import pytest

from helpers import tone, write_audio
from moodmap.core.checksums import fingerprint
from moodmap.core.errors import MoodmapError
from moodmap.library.index import Library, file_id
from moodmap.library.scan import ScanSummary
from moodmap.library.tagging import check_mood_policy, planned_values, untag_library, write_library_tags
from moodmap.library.tags import read_mood_tags, write_mood_tags

ROW = {"valence": 0.7126, "arousal": 0.3344, "emotion": "relaxed", "quadrant": "Q4", "model": "improved",
       "model_sha": "9d3b34305165abcdef"}
MOODMAP_KEYS = {"VALENCE", "AROUSAL", "MOODMAP_QUADRANT", "MOODMAP_MODEL"}


def index(tmp_path: Path, *paths: Path, db: str = "lib.sqlite") -> tuple[Library, list[dict]]:
    """An index holding ``paths`` as songs (as a scan records them), and their rows."""
    library = Library(tmp_path / db)
    rows = []
    for path in paths:
        st = path.stat()
        row = {"path": str(path), "fingerprint": fingerprint(path, st.st_size), "size": st.st_size,
               "mtime_ns": st.st_mtime_ns, "file_id": file_id(st), "title": path.stem, "artist": None, "album": None,
               "genre": None, "duration": 1.0, "valence_spread": None, "arousal_spread": None, "timeline": None,
               "analysed_at": "2026-11-30T00:00:00", **ROW}
        library.save(row)
        rows.append(row)
    return library, rows


def flac(folder: Path, name: str = "a.flac", mood: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_audio(folder / name, tone(1.0, 8000), 8000)
    if mood:
        handle = mutagen.File(str(path))
        handle.tags["MOOD"] = [mood]
        handle.save()
    return path


# ------------------------------------------------------------------ the mood policy
def test_an_unknown_policy_is_refused_and_each_known_one_accepted():
    for policy in ("keep", "replace", "skip"):
        check_mood_policy(policy)
    with pytest.raises(MoodmapError, match="^mood_tag must be one of keep, replace, skip"):
        check_mood_policy("overwrite")


@pytest.mark.parametrize("policy, current, journal, writes_mood", [
    ("keep", {}, {}, True),  # no mood yet: moodmap's goes in
    ("keep", {"MOOD": "Epic"}, {}, False),  # the user's own: kept
    ("keep", {"MOOD": "calm"}, {"MOOD": (None, "calm")}, True),  # moodmap's own, as it wrote it: replaced
    ("keep", {"MOOD": "Epic"}, {"MOOD": (None, "calm")}, False),  # changed by the user since: theirs
    ("replace", {"MOOD": "Epic"}, {}, True),
    ("skip", {}, {}, False),
    ("skip", {"MOOD": "calm"}, {"MOOD": (None, "calm")}, False),
])
def test_the_mood_policy_decides_whether_moodmap_writes_a_mood(policy, current, journal, writes_mood):
    values = planned_values(ROW, current, journal, policy)
    assert values == {"VALENCE": "0.713", "AROUSAL": "0.334", "MOODMAP_QUADRANT": "Q4",
                      "MOODMAP_MODEL": "improved sha256:9d3b34305165", **({"MOOD": "relaxed"} if writes_mood else {})}


def test_a_row_without_weights_names_only_its_model():
    assert planned_values({k: v for k, v in ROW.items() if k != "model_sha"}, {}, {}, "keep")["MOODMAP_MODEL"] \
        == "improved"


# ------------------------------------------------------------------ writing a library's tags
def test_only_files_under_the_scanned_folders_are_tagged_and_journaled(tmp_path):
    inside, outside = flac(tmp_path / "A"), flac(tmp_path / "B")
    library, rows = index(tmp_path, inside, outside)
    summary = ScanSummary()
    write_library_tags(library, rows, [tmp_path / "A"], summary, dry_run=False)
    assert [path for path, _ in summary.tag_changes] == [str(inside)] and summary.tags_written == 1
    assert set(read_mood_tags(inside)) == MOODMAP_KEYS | {"MOOD"} and read_mood_tags(outside) == {}
    assert library.journaled() == [str(inside)]
    assert library.journal(str(inside))["VALENCE"] == (None, "0.713")


def test_a_file_gone_since_the_scan_is_passed_over(tmp_path):
    here, gone = flac(tmp_path, "here.flac"), flac(tmp_path, "gone.flac")
    library, rows = index(tmp_path, here, gone)
    gone.unlink()
    summary = ScanSummary()
    write_library_tags(library, rows, [], summary, dry_run=False)
    assert [path for path, _ in summary.tag_changes] == [str(here)] and not summary.failures


def test_the_index_records_each_name_of_a_tagged_file_as_it_is_now(tmp_path):
    song = flac(tmp_path / "Music", "z-long-name.flac")
    link = tmp_path / "Music" / "a.flac"
    os.link(song, link)
    library, rows = index(tmp_path, song, link)
    summary = ScanSummary()
    write_library_tags(library, rows, [], summary, dry_run=False)
    assert [path for path, _ in summary.tag_changes] == [str(link)] and summary.tags_written == 1  # once, first name
    st = song.stat()
    for name in (song, link):
        row = library.song(str(name))
        assert (row["size"], row["mtime_ns"], row["fingerprint"], row["file_id"]) == \
            (st.st_size, st.st_mtime_ns, fingerprint(song, st.st_size), file_id(st)), name


def test_a_tagged_file_replaced_by_its_copy_is_recorded_under_its_new_identity(tmp_path):
    """A tag write replaces the file by a tagged copy (a new inode): the index records the file as it is
    now, so that the next scan finds it unchanged and a rename is still followed."""
    song = flac(tmp_path)
    library, rows = index(tmp_path, song)
    inode = song.stat().st_ino
    write_library_tags(library, rows, [], ScanSummary(), dry_run=False)
    st = song.stat()
    assert st.st_ino != inode and library.song(str(song))["file_id"] == file_id(st)


def test_moodmaps_own_mood_follows_a_new_analysis_under_the_keep_policy(tmp_path):
    song = flac(tmp_path)
    library, rows = index(tmp_path, song)
    write_library_tags(library, rows, [], ScanSummary(), dry_run=False)
    assert read_mood_tags(song)["MOOD"] == "relaxed"
    again = ScanSummary()
    write_library_tags(library, [{**rows[0], "emotion": "calm"}], [], again, dry_run=False)
    assert read_mood_tags(song)["MOOD"] == "calm" and again.tag_changes == [(str(song), {"MOOD": ("relaxed", "calm")})]


def test_a_dry_run_lists_the_changes_and_changes_nothing(tmp_path):
    song = flac(tmp_path)
    library, rows = index(tmp_path, song)
    before = song.read_bytes()
    summary = ScanSummary()
    write_library_tags(library, rows, [], summary, dry_run=True)
    assert summary.tag_changes == [(str(song), {k: (None, v) for k, v in planned_values(rows[0], {}, {}, "keep").items()})]
    assert summary.tags_written == 0 and song.read_bytes() == before and library.journaled() == []
    assert library.song(str(song))["mtime_ns"] == rows[0]["mtime_ns"]


def test_a_file_already_tagged_so_is_not_written_again(tmp_path):
    song = flac(tmp_path)
    library, rows = index(tmp_path, song)
    write_library_tags(library, rows, [], ScanSummary(), dry_run=False)
    stamp = song.stat().st_mtime_ns
    again = ScanSummary()
    write_library_tags(library, rows, [], again, dry_run=False)
    assert again.tag_changes == [] and again.tags_written == 0 and song.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("policy", ["keep", "replace"])
def test_the_policy_given_is_the_one_used(tmp_path, policy):
    song = flac(tmp_path, mood="Epic")
    library, rows = index(tmp_path, song)
    write_library_tags(library, rows, [], ScanSummary(), dry_run=False, mood_tag=policy)
    assert read_mood_tags(song)["MOOD"] == ("Epic" if policy == "keep" else "relaxed")


def test_the_default_policy_keeps_the_users_mood(tmp_path):
    song = flac(tmp_path, mood="Epic")
    library, rows = index(tmp_path, song)
    write_library_tags(library, rows, [], ScanSummary(), dry_run=False)
    assert read_mood_tags(song)["MOOD"] == "Epic"


def test_a_file_that_cannot_be_tagged_is_its_own_failure_with_a_reason_and_the_rest_go_on(tmp_path):
    broken, good = flac(tmp_path, "a.flac"), flac(tmp_path, "b.flac")
    library, rows = index(tmp_path, broken, good)
    broken.write_bytes(b"fLaC" + b"\xff" * 64)  # a FLAC whose metadata mutagen cannot read
    summary = ScanSummary()
    write_library_tags(library, rows, [], summary, dry_run=False)
    assert [path for path, _ in summary.tag_changes] == [str(good)]
    [failure] = summary.failures
    assert (failure.path, failure.error) == (str(broken), "TagWriteError")
    assert failure.reason and str(broken) not in failure.reason and "'" not in failure.reason


def test_a_file_that_cannot_be_opened_fails_with_the_systems_reason(tmp_path, monkeypatch):
    import moodmap.library.tagging as tagging

    song = flac(tmp_path)
    library, rows = index(tmp_path, song)

    def unreadable(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(tagging, "read_mood_tags", unreadable)
    summary = ScanSummary()
    write_library_tags(library, rows, [], summary, dry_run=False)
    assert [(f.path, f.reason) for f in summary.failures] == [(str(song), "Permission denied")]


def test_a_mutagen_error_is_said_without_the_path(tmp_path, monkeypatch):
    import moodmap.library.tagging as tagging

    song = flac(tmp_path)
    library, rows = index(tmp_path, song)
    said = {}

    def refuse(path):
        raise mutagen.MutagenError(said["error"])

    monkeypatch.setattr(tagging, "read_mood_tags", refuse)
    for error, reason in [(OSError(28, "No space left on device", str(song)), "No space left on device"),
                          (f"{song}: header  broken", "header broken"),
                          (f"cannot read '{song}'", "cannot read"),
                          (f"cannot read: {song}", "cannot read"),
                          (f"'{song}'", "MutagenError")]:
        said["error"] = error
        summary = ScanSummary()
        write_library_tags(library, rows, [], summary, dry_run=False)
        assert [f.reason for f in summary.failures] == [reason], error


# ------------------------------------------------------------------ untag
def tagged(tmp_path: Path, *songs: Path) -> Library:
    library, rows = index(tmp_path, *songs)
    write_library_tags(library, rows, [], ScanSummary(), dry_run=False)
    library.close()
    return library


def test_untag_gives_back_every_tag_and_records_the_file_as_it_is_now(tmp_path):
    song = flac(tmp_path / "Music", mood="Epic")
    before = song.read_bytes()
    tagged(tmp_path, song)
    summary = untag_library(tmp_path / "lib.sqlite")
    assert [path for path, _ in summary.restored] == [str(song)] and not summary.kept and not summary.failures
    assert read_mood_tags(song) == {"MOOD": "Epic"} and song.read_bytes() == before
    with Library(tmp_path / "lib.sqlite") as library:
        assert library.journaled() == []
        row, st = library.song(str(song)), song.stat()
        assert (row["size"], row["mtime_ns"], row["fingerprint"]) == (st.st_size, st.st_mtime_ns,
                                                                      fingerprint(song, st.st_size))


@pytest.mark.parametrize("chosen", ["A", "B"])
def test_untag_of_some_folders_leaves_the_others_tagged(tmp_path, chosen):
    songs = {name: flac(tmp_path / name) for name in ("A", "B", "C")}
    tagged(tmp_path, *songs.values())
    summary = untag_library(tmp_path / "lib.sqlite", [tmp_path / chosen])
    assert [path for path, _ in summary.restored] == [str(songs[chosen])]
    assert {name: bool(read_mood_tags(song)) for name, song in songs.items()} == {
        name: name != chosen for name in songs}
    with Library(tmp_path / "lib.sqlite") as library:
        assert library.journaled() == sorted(str(song) for name, song in songs.items() if name != chosen)


def test_an_untag_dry_run_works_while_a_scan_writes_the_index(tmp_path):
    """A dry run only reads the index: it does not wait for, nor is refused by, the writer's lock."""
    import fcntl

    song = flac(tmp_path)
    tagged(tmp_path, song)
    with open(tmp_path / "lib.sqlite.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running scan holds it
        assert [path for path, _ in untag_library(tmp_path / "lib.sqlite", dry_run=True).restored] == [str(song)]
        with pytest.raises(MoodmapError, match="another moodmap is writing to this index"):
            untag_library(tmp_path / "lib.sqlite")
    assert "VALENCE" in read_mood_tags(song)


def test_untag_dry_run_says_what_it_would_do_and_does_nothing(tmp_path):
    song = flac(tmp_path)
    tagged(tmp_path, song)
    after_tagging = song.read_bytes()
    summary = untag_library(tmp_path / "lib.sqlite", dry_run=True)
    assert [path for path, _ in summary.restored] == [str(song)]
    assert summary.restored[0][1]["VALENCE"] == ("0.713", None)
    assert song.read_bytes() == after_tagging
    with Library(tmp_path / "lib.sqlite") as library:
        assert library.journaled() == [str(song)]


def test_a_tag_the_user_changed_since_is_kept_and_forgotten(tmp_path):
    song = flac(tmp_path)
    tagged(tmp_path, song)
    write_mood_tags(song, {"MOOD": "Nostalgic"})
    summary = untag_library(tmp_path / "lib.sqlite")
    assert summary.kept == [(str(song), "MOOD")]
    assert read_mood_tags(song) == {"MOOD": "Nostalgic"}
    with Library(tmp_path / "lib.sqlite") as library:
        assert library.journaled() == []
    assert untag_library(tmp_path / "lib.sqlite").kept == []  # said once


def test_a_file_already_as_it_was_is_not_counted_restored(tmp_path):
    song = flac(tmp_path)
    tagged(tmp_path, song)
    with Library(tmp_path / "lib.sqlite") as library:
        recorded = library.song(str(song))["mtime_ns"]
    write_mood_tags(song, {k: None for k in read_mood_tags(song)})  # the user took them off by hand
    summary = untag_library(tmp_path / "lib.sqlite")
    assert summary.restored == [] and sorted(k for _, k in summary.kept) == sorted(MOODMAP_KEYS | {"MOOD"})
    with Library(tmp_path / "lib.sqlite") as library:  # not rewritten by untag: the user's change is for the scan
        assert library.song(str(song))["mtime_ns"] == recorded != song.stat().st_mtime_ns


def test_untag_of_a_file_gone_is_its_failure_and_the_rest_are_restored(tmp_path):
    gone, here, broken = flac(tmp_path, "a.flac"), flac(tmp_path, "b.flac"), flac(tmp_path, "c.flac")
    tagged(tmp_path, gone, here, broken)
    gone.unlink()
    broken.write_bytes(b"fLaC" + b"\xff" * 64)
    summary = untag_library(tmp_path / "lib.sqlite")
    assert [path for path, _ in summary.restored] == [str(here)]
    assert [(f.path, f.error) for f in summary.failures] == [(str(gone), "TagWriteError"), (str(broken), "TagWriteError")]
    assert summary.failures[0].reason == "No such file or directory"
    assert summary.failures[1].reason and str(broken) not in summary.failures[1].reason, summary.failures[1].reason
    with Library(tmp_path / "lib.sqlite") as library:
        assert library.journaled() == [str(gone), str(broken)]  # kept: the file may come back


def test_an_untag_failure_is_said_without_the_path(tmp_path, monkeypatch):
    import moodmap.library.tagging as tagging

    song = flac(tmp_path)
    tagged(tmp_path, song)

    def refuse(path):
        raise mutagen.MutagenError(f"cannot read: {path}")

    monkeypatch.setattr(tagging, "read_mood_tags", refuse)
    assert [(f.path, f.reason) for f in untag_library(tmp_path / "lib.sqlite").failures] == [(str(song), "cannot read")]


def test_untag_needs_an_index(tmp_path):
    with pytest.raises(MoodmapError):
        untag_library(tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()
