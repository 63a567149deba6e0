"""Every mood's playlist written into a player's folder (``moodmap playlist-folder --all-moods``): which
files, in which format, and that a rerun touches only the files moodmap wrote and nobody changed
(the mutation run of ``playlist_folder`` found these unchecked: docs/explanation/mutation.md). In process, on a
library index with known positions; tests/test_mpd.py runs the installed program with a real MPD."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from helpers import write_library_db
from moodmap.core.errors import MoodmapError
from moodmap.core.mood import EMOTIONS
from moodmap.core.mood import mood_names
from moodmap.library.playlist_folder import MANIFEST, FolderSummary, playlist_texts, write_playlists
from moodmap.library.song_table import SongTable, region_mask


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return SongTable.from_library(write_library_db(tmp_path_factory.mktemp("library"), songs=80))


def test_every_named_mood_then_the_four_quadrants():
    assert mood_names() == [e.name for e in EMOTIONS] + ["Q1", "Q2", "Q3", "Q4"]


def test_an_m3u8_per_mood_with_songs_holding_all_of_them_relative_to_the_folder(table, tmp_path):
    folder = tmp_path / "Playlists"
    texts = playlist_texts(table, "m3u8", folder)
    assert list(texts) == [f"moodmap - {m}.m3u8" for m in mood_names()]  # 80 songs: every mood has some
    for mood in mood_names():
        lines = texts[f"moodmap - {mood}.m3u8"].splitlines()
        entries = [line for line in lines if not line.startswith("#")]
        assert lines[0] == "#EXTM3U" and len(entries) == int(region_mask(table, mood).sum())
        songs = {os.path.relpath(row["path"], folder) for row, inside in zip(table.rows, region_mask(table, mood))
                 if inside}
        assert set(entries) == songs


def test_a_mood_without_songs_gets_no_m3u8(tmp_path):
    calm = next(e for e in EMOTIONS if e.name == "calm")
    table = SongTable.from_rows([{"id": 1, "path": str(tmp_path / "a.flac"), "valence": calm.valence,
                                  "arousal": calm.arousal}])
    assert list(playlist_texts(table, "m3u8", tmp_path)) == ["moodmap - calm.m3u8", "moodmap - Q4.m3u8"]


def test_n_caps_each_playlist(table, tmp_path):
    texts = playlist_texts(table, "m3u8", tmp_path, n=2)
    counts = {name: sum(not line.startswith("#") for line in text.splitlines()) for name, text in texts.items()}
    assert set(counts.values()) <= {1, 2} and 2 in counts.values()


def test_an_m3u_is_relative_to_the_music_folder(table, tmp_path):
    music = Path(table.rows[0]["path"]).parents[2]  # the folder holding Müsic/
    texts = playlist_texts(table, "m3u", tmp_path / "mpd-playlists", music_dir=music)
    entries = [line for line in texts["moodmap - Q1.m3u"].splitlines() if not line.startswith("#")]
    assert set(entries) == {str(Path(row["path"]).relative_to(music)) for row, inside
                            in zip(table.rows, region_mask(table, "Q1")) if inside}


def test_smart_playlists_are_written_for_every_mood_even_without_songs(tmp_path):
    empty = SongTable.from_rows([])
    texts = playlist_texts(empty, "nsp", tmp_path)
    assert list(texts) == [f"moodmap - {m}.nsp" for m in mood_names()]
    calm = json.loads(texts["moodmap - calm.nsp"])
    assert calm["name"] == "moodmap - calm" and calm["limit"] == 500 and calm["all"] == [{"is": {"mood": "calm"}}]
    assert json.loads(playlist_texts(empty, "nsp", tmp_path, n=20)["moodmap - Q2.nsp"])["limit"] == 20


def test_an_unknown_format_and_an_m3u_without_a_music_folder_are_refused(table, tmp_path):
    with pytest.raises(MoodmapError) as unknown:
        playlist_texts(table, "pls", tmp_path)
    assert str(unknown.value) == "unknown playlist format 'pls'; choose m3u8, m3u, nsp"
    with pytest.raises(MoodmapError) as m3u:
        playlist_texts(table, "m3u", tmp_path)
    assert str(m3u.value) == ("MPD's playlist_directory wants paths relative to its music folder: give "
                              "--music-dir (MPD's music_directory)")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_first_run_writes_every_file_and_records_each_digest(tmp_path):
    folder = tmp_path / "new" / "Playlists"
    texts = {"moodmap - calm.m3u8": "#EXTM3U\ncalm ñ\n", "moodmap - Q1.m3u8": "#EXTM3U\nq1\n"}
    summary = write_playlists(texts, folder)
    assert summary == FolderSummary(written=list(texts))
    assert {name: (folder / name).read_text(encoding="utf-8") for name in texts} == texts
    assert (folder / MANIFEST).read_text(encoding="utf-8") == json.dumps(
        {"written_by": "moodmap playlist-folder --all-moods", "files": {name: digest(text) for name, text in texts.items()}},
        indent=2) + "\n"


def test_a_rerun_rewrites_changed_keeps_unchanged_and_removes_moods_gone(tmp_path):
    write_playlists({"a.m3u8": "one\n", "b.m3u8": "two\n", "gone.m3u8": "old\n"}, tmp_path)
    summary = write_playlists({"a.m3u8": "one\n", "b.m3u8": "two, longer\n"}, tmp_path)
    assert summary == FolderSummary(written=["b.m3u8"], unchanged=["a.m3u8"], removed=["gone.m3u8"])
    assert (tmp_path / "b.m3u8").read_text() == "two, longer\n" and not (tmp_path / "gone.m3u8").exists()
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == {"a.m3u8": digest("one\n"),
                                                                      "b.m3u8": digest("two, longer\n")}


def test_a_file_someone_edited_or_wrote_is_left_alone_and_reported(tmp_path):
    write_playlists({"edited.m3u8": "mine\n", "vanished.m3u8": "x\n", "kept.m3u8": "k\n"}, tmp_path)
    (tmp_path / "edited.m3u8").write_text("the user's own order\n")
    (tmp_path / "theirs.m3u8").write_text("not moodmap's\n")
    (tmp_path / "vanished.m3u8").write_text("edited, and its mood is gone\n")
    summary = write_playlists({"edited.m3u8": "new\n", "theirs.m3u8": "new\n"}, tmp_path)
    assert summary == FolderSummary(left_alone=["edited.m3u8", "theirs.m3u8", "vanished.m3u8"], removed=["kept.m3u8"])
    assert (tmp_path / "edited.m3u8").read_text() == "the user's own order\n"
    assert (tmp_path / "theirs.m3u8").read_text() == "not moodmap's\n"
    assert (tmp_path / "vanished.m3u8").read_text() == "edited, and its mood is gone\n"
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == {}


def test_a_file_moodmap_wrote_and_someone_deleted_is_written_again_or_forgotten(tmp_path):
    write_playlists({"a.m3u8": "a\n", "b.m3u8": "b\n"}, tmp_path)
    (tmp_path / "a.m3u8").unlink()
    (tmp_path / "b.m3u8").unlink()
    summary = write_playlists({"a.m3u8": "a\n"}, tmp_path)
    assert summary == FolderSummary(written=["a.m3u8"])
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == {"a.m3u8": digest("a\n")}


@pytest.mark.parametrize("record", ["not json", "[]", '{"written_by": "x"}', '{"files": 3}'])
def test_a_record_that_is_not_moodmaps_stops_the_run_and_changes_nothing(tmp_path, record):
    (tmp_path / MANIFEST).write_text(record)
    (tmp_path / "a.m3u8").write_text("someone's\n")
    with pytest.raises(MoodmapError) as error:
        write_playlists({"a.m3u8": "new\n", "b.m3u8": "new\n"}, tmp_path)
    assert str(error.value) == (f"{tmp_path / MANIFEST}: is not moodmap's record of the playlists it wrote; move it "
                                "away to start afresh (nothing was changed)")
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "a.m3u8"]
    assert (tmp_path / MANIFEST).read_text() == record
