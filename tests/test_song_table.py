"""The in-memory library every reader selects through (``SongTable``): finding one song the ways a
user names it, filtering by mood, quadrant and text, and the rows as the index holds them (the
mutation run of ``song_table`` found these unchecked: docs/explanation/mutation.md)."""
from __future__ import annotations

import os

import numpy as np
import pytest

from helpers import write_library_db
from moodmap.core.errors import MoodmapError
from moodmap.core.mood import EMOTIONS, nearest_emotion
from moodmap.library.song_table import SongTable, label, region_mask, require_songs

ROWS = [
    {"id": 1, "path": "/m/nina/morning.flac", "artist": " Nina Simone ", "title": "Morning", "album": "Blue",
     "valence": 0.8, "arousal": 0.7, "valence_spread": 0.02, "arousal_spread": None},
    {"id": 2, "path": "/m/other/rain.flac", "artist": None, "title": None, "album": "Grey",
     "valence": 0.2, "arousal": 0.2},
    {"id": 3, "path": "/m/other/storm.ogg", "artist": "Nina Hagen", "title": "Storm", "album": None,
     "valence": 0.3, "arousal": 0.9},
    {"id": 4, "path": "/m/x/calm.mp3", "artist": "Low", "title": "Still", "album": "Quiet",
     "valence": 0.7, "arousal": 0.3},
]


@pytest.fixture
def table():
    return SongTable.from_rows(ROWS)


def ids(table: SongTable, positions: list[int]) -> list[int]:
    return [table.rows[i]["id"] for i in positions]


def test_rows_keep_the_index_fields_only_and_unknown_ones_are_none(table):
    assert table.rows[1] == {"id": 2, "path": "/m/other/rain.flac", "title": None, "artist": None, "album": "Grey",
                             "genre": None, "duration": None, "valence": 0.2, "arousal": 0.2, "valence_spread": None,
                             "arousal_spread": None, "quadrant": None, "emotion": None}
    assert table.ids.tolist() == [1, 2, 3, 4] and len(table) == 4


def test_positions_spreads_and_artists_are_arrays_in_row_order(table):
    assert table.points.tolist() == [[0.8, 0.7], [0.2, 0.2], [0.3, 0.9], [0.7, 0.3]]
    assert table.spread.tolist() == [[0.02, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]  # unknown spread is 0
    assert table.artists.tolist() == ["nina simone", "", "nina hagen", "low"]  # trimmed, case-folded


def test_a_song_without_an_id_gets_minus_one_and_an_empty_table_has_no_points():
    assert SongTable.from_rows([{"path": "/a.flac", "valence": 0.5, "arousal": 0.5}]).ids.tolist() == [-1]
    empty = SongTable.from_rows([])
    assert empty.points.shape == (0, 2) and empty.spread.shape == (0, 2) and len(empty) == 0
    with pytest.raises(MoodmapError, match=r"^the library index has no songs; run `moodmap scan` first$"):
        require_songs(empty)
    require_songs(SongTable.from_rows(ROWS[:1]))


def test_a_library_index_is_read_whole(tmp_path):
    table = SongTable.from_library(write_library_db(tmp_path, songs=12))
    assert len(table) == 12 and sorted(table.ids.tolist()) == list(range(1, 13))
    assert {row["title"] for row in table.rows} == {f"Chanson {i}" for i in range(12)}


@pytest.mark.parametrize("key, song", [(3, 3), ("3", 3), (" 4 ", 4), ("simone  – morn", 1),
                                       ("STORM", 3), ("rain", 2), ("hagen", 3)])
def test_a_song_is_found_by_id_or_a_piece_of_artist_and_title(table, key, song):
    assert table.rows[table.find(key)]["id"] == song


def test_a_song_is_found_by_its_file_under_any_spelling(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    song = music / "one.flac"
    song.touch()
    (tmp_path / "link").symlink_to(music)
    table = SongTable.from_rows([{"id": 7, "path": str(song), "title": "one", "valence": 0.5, "arousal": 0.5},
                                 {"id": 8, "path": str(music / "two.flac"), "title": "one two",
                                  "valence": 0.5, "arousal": 0.5}])
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for spelling in (str(song), "music/one.flac", str(tmp_path / "link" / "one.flac"), "link/one.flac"):
            assert table.find(spelling) == 0, spelling
    finally:
        os.chdir(cwd)
    # the index holding the file under a symlinked name: found through the link too
    linked = SongTable.from_rows([{"id": 9, "path": str(tmp_path / "link" / "one.flac"), "valence": 0.5,
                                   "arousal": 0.5}])
    assert linked.find(str(song)) == 0


def test_a_quoted_home_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "Music").mkdir()
    (tmp_path / "Music" / "a.flac").touch()
    table = SongTable.from_rows([{"id": 1, "path": str(tmp_path / "Music" / "a.flac"), "valence": 0.5, "arousal": 0.5},
                                 {"id": 2, "path": "/elsewhere/b.flac", "valence": 0.5, "arousal": 0.5}])
    assert table.find("~/Music/a.flac") == 0


def test_no_match_and_several_matches_are_one_line_errors(table):
    with pytest.raises(MoodmapError) as none:
        table.find("polka")
    assert str(none.value) == "no song in the library matches 'polka' (give an id, a path or part of a title)"
    with pytest.raises(MoodmapError) as many:
        table.find(" nina ")
    assert str(many.value) == ("2 songs match 'nina', be more specific or use an id "
                               "(1:  Nina Simone  – Morning; 3: Nina Hagen – Storm)")
    with pytest.raises(MoodmapError, match="no song in the library matches '99'"):
        table.find(99)


def test_several_matches_name_five_examples_at_most():
    table = SongTable.from_rows([{"id": i, "path": f"/m/{i}.flac", "title": f"Song {i}", "valence": 0.5,
                                  "arousal": 0.5} for i in range(1, 8)])
    with pytest.raises(MoodmapError) as many:
        table.find("song")
    assert str(many.value).endswith("(1: Song 1; 2: Song 2; 3: Song 3; 4: Song 4; 5: Song 5)")
    assert str(many.value).startswith("7 songs match 'song'")


@pytest.mark.parametrize("row, text", [({"artist": "A", "title": "T", "path": "/x/f.flac"}, "A – T"),
                                       ({"artist": None, "title": "T", "path": "/x/f.flac"}, "T"),
                                       ({"artist": "A", "title": None, "path": "/x/f.flac"}, "A – f"),
                                       ({"artist": "", "title": "", "path": "/x/f.flac"}, "f")])
def test_a_label_is_artist_and_title_falling_back_to_the_file_name(row, text):
    assert label(row) == text


def test_no_filter_keeps_every_song(table):
    assert table.filter() == [0, 1, 2, 3]


@pytest.mark.parametrize("quadrant, expected", [("Q1", [1]), ("q2", [3]), (" Q3 ", [2]), ("Q4", [4])])
def test_a_quadrant_keeps_the_songs_inside_it_whatever_its_spelling(table, quadrant, expected):
    assert ids(table, table.filter(quadrant=quadrant)) == expected
    assert ids(table, table.filter(mood=quadrant)) == expected


def test_a_named_mood_keeps_the_songs_nearest_to_it():
    rng = np.random.default_rng(3)
    rows = [{"id": i, "path": f"/m/{i}.flac", "valence": float(v), "arousal": float(a)}
            for i, (v, a) in enumerate(rng.uniform(0.02, 0.98, (300, 2)))]
    table = SongTable.from_rows(rows)
    for emotion in EMOTIONS:
        expected = [i for i, r in enumerate(rows) if nearest_emotion(r["valence"], r["arousal"]).name == emotion.name]
        assert table.filter(mood=emotion.name) == expected and expected, emotion.name
        assert region_mask(table, f" {emotion.name.upper()} ").tolist() == [i in expected for i in range(300)]


def test_text_is_searched_in_artist_title_album_and_path_case_insensitively(table):
    assert ids(table, table.filter(q="NINA")) == [1, 3]
    assert ids(table, table.filter(q="grey")) == [2]  # album
    assert ids(table, table.filter(q="Other/")) == [2, 3]  # path
    assert ids(table, table.filter(q="still")) == [4]  # title
    assert table.filter(q="polka") == []


def test_mood_quadrant_and_text_narrow_together(table):
    assert ids(table, table.filter(quadrant="Q2", q="nina")) == [3]
    assert ids(table, table.filter(mood="Q1", quadrant="Q2")) == []
    assert ids(table, table.filter(quadrant="Q1", q="hagen")) == []


def test_a_search_finds_only_what_the_fields_hold_artist_then_title_included(table):
    assert ids(table, table.filter(q="low still")) == [4]  # typed as "Artist Title"
    assert table.filter(q="xx") == [] and table.filter(q="none") == []  # no filler for a missing field


def test_positions_given_as_whole_numbers_are_held_as_floats():
    """0 and 1 are on the 0–1 scale; the arrays stay float (a caller may jitter them in place)."""
    table = SongTable.from_rows([{"id": 1, "path": "/m/a.flac", "valence": 1, "arousal": 0}])
    assert table.points.dtype == np.float64
    table.points[:, 0] -= 0.25
    assert table.filter(quadrant="Q4") == [0]


def test_a_file_indexed_under_two_names_is_found_by_its_real_path(tmp_path):
    """A music folder reached through a symlink too (both scanned): the real path names its own row
    (the file's other name is not taken for it)."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.flac").touch()
    (tmp_path / "link").symlink_to(real)
    table = SongTable.from_rows([{"id": 1, "path": str(tmp_path / "link" / "a.flac"), "valence": 0.5, "arousal": 0.5},
                                 {"id": 2, "path": str(real / "a.flac"), "valence": 0.5, "arousal": 0.5}])
    assert table.find(str(real / "a.flac")) == 1
