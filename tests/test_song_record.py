"""One song, one record (moodmap.library.song): the index's table, what playlists, the map, the web
app and the CSV export see of a song all come from the ``Song`` record's fields and their views."""
import csv
import io
import sqlite3
from dataclasses import fields

import pytest
from helpers import write_library_db

from moodmap.library.index import Library
from moodmap.library.mood_map import map_data
from moodmap.library.song import Song, columns
from moodmap.library.song_table import SongTable


def test_a_new_index_has_the_records_columns_in_its_order_and_constraints(tmp_path):
    Library(tmp_path / "lib.sqlite").close()
    with sqlite3.connect(tmp_path / "lib.sqlite") as db:
        table = [(row[1], bool(row[3]), bool(row[5])) for row in db.execute("PRAGMA table_info(songs)")]
    assert table == [(f.name, "NOT NULL" in f.metadata["sql"], "PRIMARY KEY" in f.metadata["sql"])
                     for f in fields(Song)]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    with Library(write_library_db(tmp_path_factory.mktemp("songs"), songs=3)) as opened:
        yield opened


def test_each_view_shows_the_fields_marked_for_it(library):
    catalogue = library.catalogue()
    assert list(catalogue[0]) == list(columns("catalogue"))
    header = next(csv.reader(io.StringIO(library.export_csv())))
    assert header == list(columns("export"))
    table = SongTable.from_rows(catalogue)
    assert list(table.rows[0]) == list(columns("table"))
    assert list(map_data(table)["songs"][0]) == list(columns("map"))


def test_the_views_say_what_they_are_for():
    assert "file_id" in columns("catalogue") and "file_id" not in columns("export")  # the index's own
    assert "analysed_at" in columns("export") and "model_sha" not in columns("export")
    assert {"title", "artist", "valence", "arousal", "emotion"} <= set(columns("map"))
    assert "path" in columns("map") and "timeline" not in columns("catalogue")  # the heavy column stays out
    with pytest.raises(ValueError, match="no view"):
        columns("everything")


def test_a_field_that_is_not_a_songs_is_refused_and_nothing_is_saved(library):
    before = library.count()
    song = dict(library.song(library.catalogue()[0]["path"]), path="/elsewhere/x.flac", colour="red")
    del song["id"]
    with pytest.raises(TypeError, match="colour"):
        library.save(song)
    assert library.count() == before


def test_a_saved_record_reads_back_whole_and_keeps_its_id_when_saved_again(library):
    row = library.song(library.catalogue()[0]["path"])
    again = Song.from_row(row)
    library.save(again)
    assert library.song(row["path"]) == row
    assert Song(**{**row, "id": None}).row() == {k: v for k, v in row.items() if k != "id"}
