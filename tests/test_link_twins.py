"""One file is one song: a symlink and its target, or two hard-linked names, in one library are
indexed under both names (either finds the song) but are one entry in playlists, the mood map and
the playlist folder, are analysed once and tagged once, and a rescan after `scan --write-tags`
analyses neither; `library check` still names them. Through the installed program, on real audio."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from userlib import make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")


def moodmap(*args: str, code: int = 0) -> str:
    done = subprocess.run([MOODMAP, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done
    return done.stdout + done.stderr


def twins(folder: Path) -> dict[str, Path]:
    """Three songs under five names: a symlink beside its target's album, two hard-linked names."""
    music = folder / "Music"
    first, second, third = make_user_library(music, seconds=8.0, names=[
        ("Artist A", "Album", "Song 1"), ("Artist B", "Album", "Song 2"), ("Artist C", "Album", "Song 3")])
    (music / "Favourites").mkdir()
    link = music / "Favourites" / "One.mp3"  # shorter than its target: not a symlink first
    os.symlink(first, link)
    hard = music / "Favourites" / "Two.flac"  # shorter than the album's name: it stands for the file
    os.link(second, hard)
    return {"music": music, "target": first, "link": link, "long": second, "hard": hard, "third": third}


def scan(found: dict[str, Path], db: Path, *extra: str) -> str:
    return moodmap("scan", str(found["music"]), "--db", str(db), "--jobs", "1", "--quiet", *extra)


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[dict[str, Path], Path]:
    found = twins(tmp_path_factory.mktemp("twins"))
    db = found["music"].parent / "library.sqlite"
    assert "5 files: 3 analysed" in scan(found, db)  # each file analysed once, under one of its names
    return found, db


def named(found: dict[str, Path]) -> list[str]:
    """The names that stand for each file: the target (not its symlink), the shorter hard link."""
    return [str(found["target"]), str(found["hard"]), str(found["third"])]


def test_the_index_keeps_every_name(library):
    found, db = library
    with sqlite3.connect(db) as connection:
        paths = {row[0] for row in connection.execute("SELECT path FROM songs")}
    connection.close()
    assert paths == {str(found[k]) for k in ("target", "link", "long", "hard", "third")}


def test_a_playlist_lists_the_file_once(library, tmp_path):
    found, db = library
    moods = moodmap("playlist", "--db", str(db))
    assert moods.startswith("3 songs in ")
    listed = []
    for quadrant, songs in re.findall(r"(Q\d) +│ +(\d+) │", moods):
        out = tmp_path / f"{quadrant}.m3u8"
        moodmap("playlist", "--db", str(db), "--quadrant", quadrant, "--n", "20", "--absolute", "-o", str(out),
                code=0 if int(songs) else 2)  # an empty quadrant is one line, nothing written
        if int(songs):
            listed += [line for line in out.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert sorted(listed) == sorted(named(found))


def test_a_song_is_found_by_any_of_its_names(library, tmp_path):
    found, db = library
    stands = dict(zip(("target", "hard", "third"), named(found)))
    for name, file in (("target", "target"), ("link", "target"), ("long", "hard"), ("hard", "hard")):
        out = tmp_path / f"near-{name}.json"  # --near SONG: the songs nearest it, itself left out
        moodmap("playlist", "--db", str(db), "--near", str(found[name]), "--n", "20", "-o", str(out))
        songs = [song["path"] for song in json.loads(out.read_text(encoding="utf-8"))["songs"]]
        assert sorted(songs) == sorted(p for k, p in stands.items() if k != file), name


def test_playlists_all_moods_file_each_song_once(library, tmp_path):
    found, db = library
    folder = tmp_path / "Playlists"
    moodmap("playlist-folder", "--all-moods", "--db", str(db), "--to", str(folder))
    for kind in ("emotions", "quadrants"):  # each song has one nearest emotion and one quadrant
        files = [f for f in folder.glob("*.m3u8") if (re.search(r"Q\d\.m3u8$", f.name) is not None) == (kind == "quadrants")]
        entries = [os.path.normpath(f.parent / line) for f in files
                   for line in f.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
        assert len(entries) == 3, (kind, entries)
        assert sorted(entries) == sorted(named(found))


def test_the_map_draws_the_file_once(library, tmp_path):
    found, db = library
    out = tmp_path / "map.html"
    assert moodmap("map", "--db", str(db), "-o", str(out)).startswith("3 songs drawn")
    page = out.read_text(encoding="utf-8")
    for path in named(found):
        assert page.count(f'"path": "{path}"') == 1, path
    assert f'"{found["link"]}"' not in page and f'"{found["long"]}"' not in page


def test_library_check_names_the_twins(library):
    found, db = library
    out = moodmap("library", "check", "--db", str(db))
    assert "2 indexed twice" in out
    said = [sorted(line.removeprefix("the same file twice: ").split(" = ")) for line in out.splitlines()
            if line.startswith("the same file twice: ")]
    assert sorted(said) == sorted([sorted([str(found["link"]), str(found["target"])]),
                                   sorted([str(found["hard"]), str(found["long"])])])


def test_write_tags_tags_each_file_once_and_a_rescan_analyses_none(tmp_path):
    from moodmap.library.tags import read_mood_tags

    found = twins(tmp_path)
    db = tmp_path / "library.sqlite"
    assert "5 files: 3 analysed" in scan(found, db)
    first = scan(found, db, "--write-tags")  # the writes change the files every name shares
    assert "0 analysed" in first and "3 files tagged" in first, first
    for name in ("target", "link", "long", "hard", "third"):
        assert "VALENCE" in read_mood_tags(found[name]), name
    assert found["hard"].samefile(found["long"]) and found["link"].is_symlink()
    with sqlite3.connect(db) as connection:  # journaled under the name that stands for the file, once
        journaled = sorted({row[0] for row in connection.execute("SELECT path FROM tag_journal")})
    connection.close()
    assert journaled == sorted(named(found))
    with sqlite3.connect(db) as connection:  # every name re-recorded as the file is after the write
        recorded = {row[0]: tuple(row[1:]) for row in connection.execute("SELECT path, size, mtime_ns FROM songs")}
    connection.close()
    assert recorded == {str(found[k]): (found[k].stat().st_size, found[k].stat().st_mtime_ns)
                        for k in ("target", "link", "long", "hard", "third")}
    again = scan(found, db)
    assert "5 files: 0 analysed, 5 unchanged" in again, again
    retag = scan(found, db, "--write-tags")
    assert "0 analysed" in retag and "0 files tagged" in retag, retag


def test_an_index_from_before_file_identities_learns_them_without_analysing(library, tmp_path):
    """Schema 3 held each name as its own song: upgraded, a rescan records which file each name is."""
    found, db = library
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as source, sqlite3.connect(old) as copy:
        source.backup(copy)
    source.close()
    with sqlite3.connect(old) as connection:
        connection.execute("ALTER TABLE songs DROP COLUMN file_id")
        connection.execute("PRAGMA user_version = 3")
    connection.close()
    assert moodmap("playlist", "--db", str(old)).startswith("5 songs in ")  # read as it is: five rows
    assert "5 files: 0 analysed, 5 unchanged" in scan(found, old)
    with sqlite3.connect(old) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 4
    connection.close()
    assert moodmap("playlist", "--db", str(old)).startswith("3 songs in ")
