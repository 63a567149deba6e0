"""What library.py promises, each in a test that fails when the line holding it is changed (mutation
testing, ``python benchmarks/mutation.py library``): a song keeps its id when analysed again, a move
carries its tag journal, the first original of a tag is kept for good, failures are the file's and
listed apart from tag-write failures, a foreign or newer index is refused untouched, an older one is
upgraded in place, one writer at a time, where the index lives, which name stands for a file and
which paths lie in a folder. In process on small indexes; each test well under a second."""
from __future__ import annotations

import csv
import io
import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from moodmap import __version__
from moodmap.core.errors import Failure, MoodmapError
from moodmap.library.index import (APPLICATION_ID, OWN_TABLES, SCHEMA_VERSION, TAG_WRITE_ERROR, Library, editing, file_id,
                             first_name, in_folders, index_location, index_version, open_library, timestamp)


def song(path: str, **extra) -> dict:
    return {"path": path, "fingerprint": f"fp-{path}", "size": 10, "mtime_ns": 20, "title": None, "artist": None,
            "album": None, "genre": None, "duration": 30.0, "valence": 0.5, "arousal": 0.5, "valence_spread": 0.01,
            "arousal_spread": 0.02, "quadrant": None, "emotion": "neutral", "model": "improved", "model_sha": "sha",
            "timeline": None, "analysed_at": "2026-11-30T00:00:00", "file_id": None, **extra}


@pytest.fixture
def library(tmp_path):
    with Library(tmp_path / "lib.sqlite") as opened:
        yield opened


def pragma(db: Path, name: str):
    connection = sqlite3.connect(db)
    try:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        connection.close()


# ------------------------------------------------------------------ songs
def test_a_song_analysed_again_keeps_its_id_and_loses_its_failure(library):
    library.save(song("/m/b.mp3", valence=0.2))
    library.save(song("/m/a.mp3"))
    library.fail(Failure("/m/b.mp3", "DecodeError", "bad"), 1, 2, "improved", "sha")
    library.save(song("/m/b.mp3", valence=0.9, title="New"))
    assert [(r["id"], r["path"], r["valence"], r["title"]) for r in library.songs()] == [
        (2, "/m/a.mp3", 0.5, None), (1, "/m/b.mp3", 0.9, "New")]  # ordered by path
    assert library.failures() == {} and library.count() == 2
    assert [r["path"] for r in library.catalogue()] == ["/m/b.mp3", "/m/a.mp3"]  # ordered by id
    assert "timeline" not in library.catalogue()[0] and library.catalogue()[0]["file_id"] is None


def test_a_songs_timeline_is_read_back_by_its_id(library):
    library.save(song("/m/a.mp3", timeline='[{"start": 0.0, "valence": 0.4}]'))
    library.save(song("/m/b.mp3"))
    assert library.timeline(1) == [{"start": 0.0, "valence": 0.4}]
    assert library.timeline(2) is None and library.timeline(99) is None
    known = library.known()
    assert (known["/m/a.mp3"]["has_timeline"], known["/m/b.mp3"]["has_timeline"]) == (1, 0)
    assert (known["/m/a.mp3"]["size"], known["/m/a.mp3"]["model_sha"]) == (10, "sha")


def test_a_move_carries_the_song_and_its_tag_journal_to_the_new_name(library):
    library.save(song("/m/a.mp3"))
    library.save(song("/m/other.mp3"))
    library.record_tags("/m/a.mp3", {"MOOD": (None, "calm"), "GENRE": ("Rock", "Rock; calm")})
    library.record_tags("/m/other.mp3", {"MOOD": ("sad", "calm")})
    library.move("/m/a.mp3", "/n/a.mp3", 11, 21)
    moved = library.song("/n/a.mp3")
    assert (moved["id"], moved["size"], moved["mtime_ns"]) == (1, 11, 21) and library.song("/m/a.mp3") is None
    assert library.journal("/n/a.mp3") == {"MOOD": (None, "calm"), "GENRE": ("Rock", "Rock; calm")}
    assert library.journal("/m/a.mp3") == {} and library.journal("/m/other.mp3") == {"MOOD": ("sad", "calm")}
    assert library.journaled() == ["/m/other.mp3", "/n/a.mp3"]


def test_the_first_original_of_a_tag_is_kept_and_forgetting_takes_only_the_keys_named(library):
    library.record_tags("/m/a.mp3", {"MOOD": ("sad", "calm"), "GENRE": (None, "x")})
    library.record_tags("/m/a.mp3", {"MOOD": ("calm", "happy")})  # moodmap's own value is not the original
    assert library.journal("/m/a.mp3") == {"MOOD": ("sad", "happy"), "GENRE": (None, "x")}
    library.forget_tags("/m/a.mp3", ["MOOD"])
    assert library.journal("/m/a.mp3") == {"GENRE": (None, "x")}


def test_a_refresh_records_the_files_new_facts_and_keeps_its_id_unless_given(library):
    library.save(song("/m/a.mp3", file_id="1:2"))
    library.refresh("/m/a.mp3", 5, 6, "new")
    row = library.song("/m/a.mp3")
    assert (row["size"], row["mtime_ns"], row["fingerprint"], row["file_id"]) == (5, 6, "new", "1:2")
    library.refresh("/m/a.mp3", 7, 8, "newer", "3:4")
    assert library.song("/m/a.mp3")["file_id"] == "3:4"
    library.identify([("/m/a.mp3", "5:6")])
    assert library.known()["/m/a.mp3"]["file_id"] == "5:6"


def test_pruning_removes_the_songs_and_their_failures_only(library):
    for name in ("a", "b", "c"):
        library.save(song(f"/m/{name}.mp3"))
    library.fail(Failure("/m/b.mp3", "DecodeError", "bad"), 1, 2, "improved", "sha")
    library.fail(Failure("/m/x.mp3", "DecodeError", "bad"), 1, 2, "improved", "sha")
    library.prune(["/m/a.mp3", "/m/b.mp3"])
    assert [r["path"] for r in library.songs()] == ["/m/c.mp3"] and list(library.failures()) == ["/m/x.mp3"]


def test_roots_are_listed_once_each_in_order(library):
    library.add_root(Path("/music/b"))
    library.add_root(Path("/music/a"))
    library.add_root(Path("/music/b"))
    assert library.roots() == ["/music/a", "/music/b"]


# ------------------------------------------------------------------ failures
def test_a_failure_records_the_file_the_moodmap_and_the_model(library):
    library.fail(Failure("/m/a.mp3", "DecodeError", "not audio"), 100, 200, "paper", "sha-p")
    record = library.failures()["/m/a.mp3"]
    assert (record["size"], record["mtime_ns"], record["error"], record["reason"], record["version"], record["model"],
            record["model_sha"]) == (100, 200, "DecodeError", "not audio", __version__, "paper", "sha-p")
    library.fail(Failure("/m/a.mp3", "TooShortError", "short"), 1, 2, "improved", "sha")
    assert [(r["error"], r["size"]) for r in library.failure_list()] == [("TooShortError", 1)]


def test_tag_write_failures_are_listed_apart_and_replaced_per_folder(library, tmp_path):
    music, other = tmp_path / "Music", tmp_path / "Other"
    music.mkdir(), other.mkdir()
    here, there = music / "a.mp3", other / "b.mp3"
    here.write_bytes(b"x" * 7)
    library.fail(Failure(str(music / "bad.mp3"), "DecodeError", "bad"), 1, 2, "improved", "sha")
    library.record_tag_failures([music, other], [Failure(str(here), TAG_WRITE_ERROR, "read-only"),
                                                 Failure(str(there), TAG_WRITE_ERROR, "gone")])
    assert list(library.failures()) == [str(music / "bad.mp3")]  # a scan skips analysis failures only
    listed = {r["path"]: r for r in library.failure_list()}
    assert (listed[str(here)]["size"], listed[str(here)]["error"], listed[str(here)]["reason"],
            listed[str(here)]["version"]) == (7, TAG_WRITE_ERROR, "read-only", __version__)
    assert (listed[str(there)]["size"], listed[str(there)]["mtime_ns"]) == (0, 0)
    library.record_tag_failures([music], [])  # Music tagged fine now; Other not scanned
    assert sorted(r["path"] for r in library.failure_list()) == [str(music / "bad.mp3"), str(there)]
    library.record_tag_failures([music], [Failure(str(music / "bad.mp3"), TAG_WRITE_ERROR, "x")])
    assert library.failures()[str(music / "bad.mp3")]["error"] == "DecodeError"  # an analysis failure stays
    stats = library.stats()
    assert (stats["failures"], stats["tag_failures"]) == (1, 1)


def test_the_failures_of_files_no_longer_there_are_found(library, tmp_path):
    there = tmp_path / "a.mp3"
    there.write_bytes(b"x")
    link = tmp_path / "dangling.mp3"
    link.symlink_to(tmp_path / "nowhere")
    for path in (there, link, tmp_path / "gone.mp3"):
        library.fail(Failure(str(path), "DecodeError", "bad"), 1, 2, "improved", "sha")
    assert library.gone_failures() == [str(tmp_path / "gone.mp3")]


# ------------------------------------------------------------------ reports
def test_stats_count_songs_means_and_groups(library):
    library.save(song("/m/a.mp3", valence=0.2, arousal=0.4, quadrant="Q1", emotion="calm"))
    library.save(song("/m/b.mp3", valence=0.4, arousal=0.6, quadrant="Q1", emotion="calm", model="paper"))
    library.save(song("/m/c.mp3", valence=0.6, arousal=0.8))
    stats = library.stats()
    assert (stats["songs"], stats["mean_valence"], stats["mean_arousal"]) == (3, pytest.approx(0.4),
                                                                               pytest.approx(0.6))
    assert stats["quadrants"] == {"Q1": 2, "neutral": 1}
    assert stats["emotions"] == {"calm": 2, "neutral": 1}
    assert stats["models"] == {"improved": 2, "paper": 1}
    assert list(stats["quadrants"]) == ["Q1", "neutral"]  # most first


def test_check_finds_missing_files_and_files_indexed_twice(library, tmp_path):
    there = tmp_path / "a.mp3"
    there.write_bytes(b"x")
    library.save(song(str(there), fingerprint="same"))
    library.save(song(str(tmp_path / "b c.mp3"), fingerprint="same"))
    library.save(song(str(tmp_path / "c.mp3")))
    found = library.check()
    assert found == {"integrity": ["ok"], "missing": [str(tmp_path / "b c.mp3"), str(tmp_path / "c.mp3")],
                     "duplicates": [[str(there), str(tmp_path / "b c.mp3")]], "songs": 3}


def test_the_csv_export_has_a_header_and_one_row_per_song_by_path(library):
    library.save(song("/m/b.mp3", title="Bee, the song"))
    library.save(song("/m/a.mp3"))
    rows = list(csv.reader(io.StringIO(library.export_csv())))
    assert rows[0][:3] == ["path", "title", "artist"] and rows[0][-1] == "analysed_at" and len(rows[0]) == 14
    assert [r[0] for r in rows[1:]] == ["/m/a.mp3", "/m/b.mp3"] and rows[2][1] == "Bee, the song"
    assert library.export_csv().endswith("\n") and "\r" not in library.export_csv()


# ------------------------------------------------------------------ the index file
def test_a_new_index_is_marked_as_moodmaps_in_wal_mode(tmp_path):
    db = tmp_path / "lib.sqlite"
    Library(db).close()
    assert (pragma(db, "application_id"), pragma(db, "user_version"), pragma(db, "journal_mode")) == (
        APPLICATION_ID, SCHEMA_VERSION, "wal")
    assert index_version(db) == (SCHEMA_VERSION, True)


def test_an_older_index_is_upgraded_in_place_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.sqlite"
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE songs (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, fingerprint TEXT, "
                       "size INTEGER, mtime_ns INTEGER, valence REAL, arousal REAL, emotion TEXT, model TEXT, "
                       "model_sha TEXT, timeline TEXT, analysed_at TEXT)")
    connection.execute("CREATE TABLE failures (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, error TEXT, "
                       "reason TEXT, at TEXT)")
    connection.execute("INSERT INTO songs (path, fingerprint, size, mtime_ns, valence, arousal, emotion, model, "
                       "model_sha, analysed_at) VALUES ('/m/a.mp3', 'f', 1, 2, 0.3, 0.7, 'calm', 'paper', 's', 't')")
    connection.commit()
    connection.close()
    assert index_version(db) == (0, False)
    with open_library(db) as reading:  # reading an old index as it is: missing columns read as NULL
        assert reading.catalogue()[0]["file_id"] is None and reading.known()["/m/a.mp3"]["file_id"] is None
    assert index_version(db) == (0, False)
    with Library(db) as library:
        assert library.songs()[0]["valence"] == 0.3 and library.songs()[0]["file_id"] is None
        library.fail(Failure("/m/b.mp3", "DecodeError", "bad"), 1, 2, "improved", "sha")
        assert library.failures()["/m/b.mp3"]["model"] == "improved"
        library.record_tags("/m/a.mp3", {"MOOD": (None, "calm")})
    assert (pragma(db, "user_version"), pragma(db, "application_id")) == (SCHEMA_VERSION, APPLICATION_ID)


@pytest.mark.parametrize("content, said", [
    (b"", "an empty file: moodmap never leaves one; remove it if it is yours to remove"),
    (b"not sqlite at all, just text" * 4, "not an SQLite file")])
def test_a_file_that_is_not_an_index_is_refused_untouched(tmp_path, content, said):
    db = tmp_path / "lib.sqlite"
    db.write_bytes(content)
    for opening in (lambda: Library(db), lambda: open_library(db), lambda: index_version(db)):
        with pytest.raises(MoodmapError) as refused:
            opening()
        assert refused.value.reason == f"not a moodmap index ({said}); it was not touched (give db a moodmap index)"
        assert refused.value.for_command_line().endswith("(give --db a moodmap index)")  # the command's terms
        assert refused.value.path == str(db)
    assert db.read_bytes() == content and sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite"]


def test_another_programs_database_is_refused_by_its_id_or_its_tables(tmp_path):
    marked, tables, empty = tmp_path / "marked.db", tmp_path / "tables.db", tmp_path / "empty.db"
    for path, statements in ((marked, ["PRAGMA application_id = 1234", "CREATE TABLE songs (path TEXT)"]),
                             (tables, ["CREATE TABLE items (x)", "CREATE TABLE albums (y)"]),
                             (empty, ["PRAGMA user_version = 1"])):
        connection = sqlite3.connect(path)
        for statement in statements:
            connection.execute(statement)
        connection.commit()
        connection.close()
    reasons = {}
    for path in (marked, tables, empty):
        with pytest.raises(MoodmapError) as refused:
            index_version(path)
        assert refused.value.path == str(path)
        reasons[path.name] = refused.value.reason
    assert "(another program's database, application id 0x4d2)" in reasons["marked.db"]
    assert "(it has tables albums, items)" in reasons["tables.db"]
    assert "(an SQLite database with no tables)" in reasons["empty.db"]


def test_a_songs_table_without_moodmaps_columns_is_not_an_index(tmp_path):
    db = tmp_path / "songs.db"
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE songs (path TEXT, rating INTEGER)")
    connection.commit()
    connection.close()
    with pytest.raises(MoodmapError, match=r"it has tables songs, not moodmap's columns\)"):
        index_version(db)


@pytest.mark.parametrize("count, named", [(6, "t0, t1, t2, t3, t4, t5"), (7, "t0, t1, t2, t3, t4, t5, …")])
def test_many_foreign_tables_are_named_six_at_most(tmp_path, count, named):
    db = tmp_path / "many.db"
    connection = sqlite3.connect(db)
    for i in range(count):
        connection.execute(f"CREATE TABLE t{i} (x)")
    connection.commit()
    connection.close()
    with pytest.raises(MoodmapError) as refused:
        index_version(db)
    assert f"(it has tables {named})" in refused.value.reason


def test_an_index_from_a_newer_moodmap_is_refused(tmp_path):
    db = tmp_path / "lib.sqlite"
    Library(db).close()
    connection = sqlite3.connect(db)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(MoodmapError) as refused:
        Library(db)
    assert refused.value.path == str(db)
    assert refused.value.reason == (f"made by a newer moodmap (index schema {SCHEMA_VERSION + 1}; this one knows "
                                    f"up to {SCHEMA_VERSION}): upgrade moodmap; the index was not touched")


def test_a_folder_or_an_unreadable_file_is_no_index(tmp_path):
    with pytest.raises(MoodmapError, match=r"not a moodmap index \(a folder\)") as refused:
        index_version(tmp_path)
    assert refused.value.path == str(tmp_path)
    loop = tmp_path / "loop.sqlite"
    loop.symlink_to(loop)
    with pytest.raises(MoodmapError) as unreadable:
        index_version(loop)
    assert (unreadable.value.path, unreadable.value.reason) == (
        str(loop), "cannot read the library index (Too many levels of symbolic links)")
    with pytest.raises(MoodmapError, match=r"not a moodmap index \(a folder\)"):
        open_library(tmp_path)
    assert index_version(tmp_path / "missing.sqlite") is None


def test_a_damaged_index_is_said_to_be_damaged(tmp_path):
    db = tmp_path / "lib.sqlite"
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(MoodmapError, match="the library index is damaged or not a database") as refused:
        index_version(db)
    assert refused.value.path == str(db)


def test_reading_an_index_that_is_not_there_makes_none(tmp_path):
    db = tmp_path / "lib.sqlite"
    for opening in (lambda: open_library(db), lambda: Library(db, writable=False), lambda: Library.read_only(db)):
        with pytest.raises(MoodmapError) as refused:
            opening()
        assert refused.value.reason.startswith("no library index here") and refused.value.path == str(db)
    with pytest.raises(MoodmapError, match=f"`moodmap scan MUSIC --db {db}` makes one"):
        open_library(db)
    assert list(tmp_path.iterdir()) == []


def test_reading_writes_nothing_and_sees_a_killed_writers_log(tmp_path):
    db = tmp_path / "lib.sqlite"
    writer = Library(db)
    writer.db.execute("PRAGMA wal_autocheckpoint = 0")
    writer.save(song("/m/a.mp3"))  # in the -wal file only
    assert Path(f"{db}-wal").exists()
    with Library.read_only(db) as reading:
        assert [r["path"] for r in reading.songs()] == ["/m/a.mp3"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reading.db.execute("DELETE FROM songs")
    writer.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with Library.read_only(db) as reading:
        assert reading.count() == 1
        with pytest.raises(sqlite3.OperationalError):
            reading.db.execute("DELETE FROM songs")
    with open_library(db) as reading:
        assert reading.count() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_dry_run_without_an_index_sees_an_empty_one_and_makes_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "sub" / "lib.sqlite"
    with editing(db, dry_run=True) as library:
        assert library.count() == 0 and library.roots() == []
        library.save(song("/m/a.mp3"))  # kept in memory only
        assert library.songs()[0]["path"] == "/m/a.mp3" and library.known()["/m/a.mp3"]["size"] == 10
    assert list(tmp_path.iterdir()) == []  # not even in the working folder
    with pytest.raises(MoodmapError, match="no library index here"):
        with editing(db, create=False):
            pass
    assert not (tmp_path / "sub").exists()


def test_one_writer_at_a_time_and_the_folder_is_made_for_the_first(tmp_path):
    db = tmp_path / "new" / "lib.sqlite"
    with editing(db) as library:
        library.save(song("/m/a.mp3"))
        with pytest.raises(MoodmapError) as refused:
            with editing(db):
                pass
        assert refused.value.reason.startswith("another moodmap is writing to this index")
        with editing(db, dry_run=True) as reading:  # reading meanwhile is fine
            assert reading.count() == 1
    with editing(db, create=False) as again:  # the lock was given back
        assert again.count() == 1
    with editing(db) as again:
        assert again.count() == 1


def test_a_file_that_is_not_an_index_gets_no_lock_file_beside_it(tmp_path):
    db = tmp_path / "lib.sqlite"
    db.write_bytes(b"something else entirely")
    with pytest.raises(MoodmapError):
        with editing(db):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite"]


# ------------------------------------------------------------------ where the index lives
def test_the_index_is_db_then_moodmap_db_then_the_config_then_the_data_folder(tmp_path):
    home = tmp_path / "home"
    env = {"HOME": str(home)}
    assert index_location("x.sqlite", env) == (Path("x.sqlite"), "from --db")
    assert index_location(None, env) == (home / ".local/share/moodmap/library.sqlite", "default")
    data = {**env, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": "relative/ignored"}
    assert index_location(None, data) == (tmp_path / "data/moodmap/library.sqlite", "default")
    config = tmp_path / "config" / "moodmap" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('library = "music/lib.sqlite"\n')
    configured = {**env, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    assert index_location(None, configured) == (config.parent / "music/lib.sqlite", f"from config {config}")
    config.write_text('library = "~/lib.sqlite"\n')
    assert index_location(None, configured)[0] == Path("~/lib.sqlite").expanduser()
    assert index_location(None, {**configured, "MOODMAP_DB": "~/m.sqlite"}) == (
        Path("~/m.sqlite").expanduser(), "from $MOODMAP_DB")
    assert index_location(None, {**configured, "MOODMAP_DB": ""})[1] == f"from config {config}"
    config.write_text('other = 1\n')
    assert index_location(None, configured) == (home / ".local/share/moodmap/library.sqlite", "default")
    at_home = home / ".config" / "moodmap" / "config.toml"  # no XDG_CONFIG_HOME: ~/.config
    at_home.parent.mkdir(parents=True)
    at_home.write_text('library = "lib.sqlite"\n')
    assert index_location(None, env) == (at_home.parent / "lib.sqlite", f"from config {at_home}")


QUOTES = 'library must be the index\'s path, in quotes: library = "~/music/library.sqlite"'


@pytest.mark.parametrize("text, said", [('library = 3\n', QUOTES), ('library = "  "\n', QUOTES),
                                        ("library = [\n", "not a valid TOML config file"),
                                        (b"library = '\xff'\n", "not a valid TOML config file")])
def test_a_config_file_that_cannot_be_used_is_one_error_naming_it(tmp_path, text, said):
    config = tmp_path / "moodmap" / "config.toml"
    config.parent.mkdir()
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(MoodmapError) as refused:
        index_location(None, {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert refused.value.path == str(config) and (refused.value.reason == said or said != QUOTES and said in
                                                  refused.value.reason)


def test_a_config_folder_where_the_file_goes_is_one_error(tmp_path):
    (tmp_path / "moodmap" / "config.toml").mkdir(parents=True)
    with pytest.raises(MoodmapError, match="cannot read the config file") as refused:
        index_location(None, {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert refused.value.path == str(tmp_path / "moodmap" / "config.toml")


def test_an_empty_file_is_a_fresh_index_only_where_the_default_one_goes(tmp_path, monkeypatch):
    home = tmp_path / "home"
    default = home / ".local/share/moodmap/library.sqlite"
    default.parent.mkdir(parents=True)
    default.write_bytes(b"")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "MOODMAP_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    assert index_version(default) is None
    with Library(default) as library:
        assert library.count() == 0
    assert index_version(default) == (SCHEMA_VERSION, True)
    elsewhere = tmp_path / "other.sqlite"
    elsewhere.write_bytes(b"")
    with pytest.raises(MoodmapError, match="an empty file"):
        index_version(elsewhere)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # an unusable config: not the default
    (tmp_path / "config" / "moodmap").mkdir(parents=True)
    (tmp_path / "config" / "moodmap" / "config.toml").write_text("library = [")
    with pytest.raises(MoodmapError, match="an empty file"):
        index_version(elsewhere)


# ------------------------------------------------------------------ names of one file
def test_a_file_is_its_device_and_inode():
    assert file_id(SimpleNamespace(st_dev=5, st_ino=77)) == "5:77"


def test_the_name_that_stands_for_a_file_is_there_not_a_symlink_then_the_shortest(tmp_path):
    real = tmp_path / "long name.mp3"
    real.write_bytes(b"x")
    link = tmp_path / "a.mp3"
    link.symlink_to(real)
    hard = tmp_path / "hard name.mp3"
    os.link(real, hard)
    tmp = str(tmp_path.resolve())
    real, link, hard = f"{tmp}/long name.mp3", f"{tmp}/a.mp3", f"{tmp}/hard name.mp3"
    gone = f"{tmp}/b.mp3"
    assert first_name([link, real, gone]) == real  # not the symlink, not the name that is gone
    assert first_name([real, hard]) == hard  # the shorter
    assert first_name([link, gone]) == link  # one that is there
    other = f"{tmp}/hard-name.mp3"
    os.link(real, other)
    assert first_name([other, hard]) == hard  # as long: the first in order


def test_a_path_lies_in_a_folder_only_below_it_or_as_it():
    folders = [Path("/music/A"), Path("/nas")]
    assert in_folders("/music/A/x.mp3", folders) and in_folders("/nas/b/y.mp3", folders)
    assert in_folders("/music/A", folders)
    assert not in_folders("/music/AB/x.mp3", folders) and not in_folders("/music/x.mp3", folders)
    assert in_folders("/anything.mp3", []) and in_folders("/anything.mp3", None)


def test_times_are_recorded_to_the_second_in_utc(monkeypatch):
    import re
    import time

    def utc() -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    monkeypatch.setenv("TZ", "Asia/Tokyo")  # nine hours from UTC: a local time would show
    time.tzset()
    try:
        before, now, after = utc(), timestamp(), utc()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now) and before <= now <= after


def test_a_song_saved_again_keeps_its_id_whatever_the_row_says(library):
    library.save(song("/m/a.mp3"))
    library.save(song("/m/a.mp3", id=99, valence=0.7))
    assert [(r["id"], r["valence"]) for r in library.songs()] == [(1, 0.7)]


def test_an_index_of_the_last_schema_but_one_gains_what_it_lacks(tmp_path):
    """Schema 3, marked as moodmap's: failures know their version and model, songs lack file_id."""
    db = tmp_path / "lib.sqlite"
    Library(db).close()
    connection = sqlite3.connect(db)
    connection.execute("ALTER TABLE songs DROP COLUMN file_id")
    connection.execute("PRAGMA user_version = 3")
    connection.commit()
    connection.close()
    assert index_version(db) == (3, True)
    with Library(db) as library:
        library.save(song("/m/a.mp3", file_id="1:2"))
        assert library.song("/m/a.mp3")["file_id"] == "1:2"
    assert pragma(db, "user_version") == SCHEMA_VERSION


def test_an_index_of_this_schema_not_yet_marked_is_marked(tmp_path):
    db = tmp_path / "lib.sqlite"
    Library(db).close()
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA application_id = 0")
    connection.commit()
    connection.close()
    assert index_version(db) == (SCHEMA_VERSION, False)
    Library(db).close()
    assert index_version(db) == (SCHEMA_VERSION, True)


def unmarked(db: Path, *statements: str) -> Path:
    connection = sqlite3.connect(db)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return db


def test_an_old_index_is_known_by_its_tables_and_its_songs_columns(tmp_path):
    columns = "path TEXT, fingerprint TEXT, valence REAL, arousal REAL, emotion TEXT, model TEXT, model_sha TEXT"
    exact = unmarked(tmp_path / "exact.db", f"CREATE TABLE songs ({columns})")
    assert index_version(exact) == (0, False)  # exactly moodmap's columns, no more
    counted = unmarked(tmp_path / "counted.db", f"CREATE TABLE songs (id INTEGER PRIMARY KEY AUTOINCREMENT, {columns})",
                       "INSERT INTO songs (path) VALUES ('/m/a.mp3')")  # SQLite's own sqlite_sequence appears
    assert index_version(counted) == (0, False)
    every = tmp_path / "every.db"
    Library(every).close()
    unmarked(every, "PRAGMA application_id = 0", "PRAGMA user_version = 2",
             *(f"CREATE TABLE IF NOT EXISTS {name} (x)" for name in OWN_TABLES))
    assert index_version(every) == (2, False)  # every one of moodmap's tables
    lacking = unmarked(tmp_path / "lacking.db", *(f"CREATE TABLE {name} (path TEXT)" for name in OWN_TABLES))
    with pytest.raises(MoodmapError) as refused:
        index_version(lacking)
    assert f"(it has tables {', '.join(sorted(OWN_TABLES))}, not moodmap's columns)" in refused.value.reason


def test_a_killed_writers_index_is_read_with_its_log_and_left_as_it_was(tmp_path):
    db = tmp_path / "lib.sqlite"
    writer = Library(db)
    writer.db.execute("PRAGMA wal_autocheckpoint = 0")
    writer.save(song("/m/a.mp3"))
    writer.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")  # a newer moodmap, still writing
    killed = tmp_path / "killed"
    killed.mkdir()
    for side in ("", "-wal", "-shm"):  # the files as kill -9 leaves them
        if Path(f"{db}{side}").exists():
            (killed / f"lib.sqlite{side}").write_bytes(Path(f"{db}{side}").read_bytes())
    writer.close()
    kept = ("lib.sqlite", "lib.sqlite-wal")  # (readers share the -shm index of the log: SQLite's own)
    before = {name: (killed / name).read_bytes() for name in kept}
    with pytest.raises(MoodmapError, match="made by a newer moodmap"):  # what the log says, not the file alone
        index_version(killed / "lib.sqlite")
    assert {name: (killed / name).read_bytes() for name in kept} == before  # the log not merged by a reader
