import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import write_library_db
from moodmap.cli import app
from moodmap.core.errors import MoodmapError, as_options
from moodmap.core.mood import EMOTION_BY_NAME, nearest_emotion, quadrant
from moodmap.library.song_table import SongTable
from moodmap.library.playlists import (Constraints, curve_playlist, mood_playlist, near_playlist, path_playlist,
                               to_m3u8)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return write_library_db(tmp_path_factory.mktemp("lib"), songs=400)


@pytest.fixture(scope="module")
def table(db):
    return SongTable.from_library(db)


def positions(playlist):
    return np.array([(s["valence"], s["arousal"]) for s in playlist.songs])


@pytest.mark.parametrize("mood", ["happy", "calm", "sad", "angry", "tense", "relaxed"])
def test_mood_query_returns_only_songs_of_that_mood_most_typical_first(table, mood):
    result = mood_playlist(table, mood, Constraints(n=15))
    assert len(result.songs) == 15
    assert all(nearest_emotion(s["valence"], s["arousal"]).name == mood for s in result.songs)
    anchor = EMOTION_BY_NAME[mood]
    distances = np.linalg.norm(positions(result) - (anchor.valence, anchor.arousal), axis=1)
    spread = np.array([s["valence_spread"] ** 2 + s["arousal_spread"] ** 2 for s in result.songs])
    assert np.all(np.diff(distances ** 2 + spread) >= 0)


@pytest.mark.parametrize("q", ["Q1", "Q2", "Q3", "Q4"])
def test_quadrant_query_returns_only_songs_of_that_quadrant(table, q):
    result = mood_playlist(table, q, Constraints(n=30))
    assert len(result.songs) == 30
    assert {quadrant(s["valence"], s["arousal"]) for s in result.songs} == {q}


def test_aliases_name_the_same_mood(table):
    assert mood_playlist(table, "Joy").songs == mood_playlist(table, "happy").songs


def test_near_returns_the_true_nearest_neighbours(table):
    origin = 17
    result = near_playlist(table, str(table.rows[origin]["id"]), Constraints(n=12))
    expected_cost = ((table.points - table.points[origin]) ** 2).sum(1) + (table.spread ** 2).sum(1) \
        + (table.spread[origin] ** 2).sum()
    expected_cost[origin] = np.inf
    brute = [table.rows[i]["id"] for i in np.argsort(expected_cost)[:12]]
    assert [s["id"] for s in result.songs] == brute


def test_near_without_spreads_is_plain_euclidean(tmp_path):
    table = SongTable.from_library(write_library_db(tmp_path, songs=200, seed=4, spread=False))
    result = near_playlist(table, "5", Constraints(n=10))
    origin = [r["id"] for r in table.rows].index(5)
    distance = np.linalg.norm(table.points - table.points[origin], axis=1)
    distance[origin] = np.inf
    assert [s["id"] for s in result.songs] == [table.rows[i]["id"] for i in np.argsort(distance)[:10]]


def test_constraints_keep_spacing_and_one_song_per_artist(table):
    result = near_playlist(table, "3", Constraints(n=8, min_distance=0.08, exclude_artist_repeats=True))
    points = positions(result)
    gaps = np.linalg.norm(points[:, None] - points[None], axis=2) + np.eye(len(points))
    assert gaps.min() >= 0.08
    artists = [s["artist"] for s in result.songs]
    assert len(set(artists)) == len(artists)
    assert table.rows[[r["id"] for r in table.rows].index(3)]["artist"] not in artists


def test_seed_draws_varied_playlists_from_the_same_region(table):
    one = mood_playlist(table, "sad", Constraints(n=10, seed=1))
    two = mood_playlist(table, "sad", Constraints(n=10, seed=2))
    again = mood_playlist(table, "sad", Constraints(n=10, seed=1))
    assert one.songs == again.songs and one.songs != two.songs
    assert all(s["emotion"] == "sad" for s in one.songs + two.songs)


def test_mood_path_moves_monotonically_to_the_target_without_repeats(table):
    start, end = table.rows[int(np.argmin(table.points.sum(1)))], table.rows[int(np.argmax(table.points.sum(1)))]
    result = path_playlist(table, str(start["id"]), str(end["id"]), steps=12)
    ids = [s["id"] for s in result.songs]
    assert ids[0] == start["id"] and ids[-1] == end["id"] and len(ids) == 12
    assert len(set(ids)) == len(ids)
    to_end = np.linalg.norm(positions(result) - (end["valence"], end["arousal"]), axis=1)
    assert np.all(np.diff(to_end) < 0)


def test_mood_path_stays_near_the_line(table):
    a, b = table.points[int(np.argmin(table.points.sum(1)))], table.points[int(np.argmax(table.points.sum(1)))]
    result = path_playlist(table, str(table.rows[int(np.argmin(table.points.sum(1)))]["id"]),
                           str(table.rows[int(np.argmax(table.points.sum(1)))]["id"]), steps=8)
    direction = (b - a) / np.linalg.norm(b - a)
    offsets = positions(result) - a
    off_line = np.abs(offsets[:, 0] * direction[1] - offsets[:, 1] * direction[0])
    assert off_line.max() < 0.1  # 400 songs on the plane: something lies close to every waypoint


@pytest.mark.parametrize("shape, check", [
    ("rise", lambda a: np.all(np.diff(a) >= 0)),
    ("fall", lambda a: np.all(np.diff(a) <= 0)),
    ("arc", lambda a: np.all(np.diff(a[: len(a) // 2 + 1]) >= 0) and np.all(np.diff(a[len(a) // 2:]) <= 0)),
])
def test_energy_curves_follow_their_shape(table, shape, check):
    result = curve_playlist(table, shape, Constraints(n=16))
    arousal = positions(result)[:, 1]
    assert len(arousal) == 16 and check(arousal)
    assert arousal.max() - arousal.min() > 0.4
    assert len({s["id"] for s in result.songs}) == 16


def test_m3u8_is_valid_and_paths_resolve(table, db, tmp_path):
    result = mood_playlist(table, "happy", Constraints(n=6))
    out = tmp_path / "lists" / "happy ☀.m3u8"
    out.parent.mkdir()
    out.write_text(to_m3u8(result, out), encoding="utf-8")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and lines[1].startswith("#PLAYLIST:")
    infos, paths = lines[2::2], lines[3::2]
    assert len(paths) == 6
    for info, path, song in zip(infos, paths, result.songs):
        assert info == f"#EXTINF:{round(song['duration'])},{song['artist']} – {song['title']}"
        assert not Path(path).is_absolute() and (out.parent / path).resolve() == Path(song["path"]).resolve()
        assert "ñ" in path
    absolute = to_m3u8(result, out, absolute=True).splitlines()[3::2]
    assert all(Path(p).is_absolute() and Path(p).exists() for p in absolute)


def test_empty_library_and_unknown_song_give_clear_errors(tmp_path, table):
    empty = SongTable.from_library(write_library_db(tmp_path, songs=0))
    with pytest.raises(MoodmapError, match="no songs"):
        mood_playlist(empty, "happy")
    with pytest.raises(MoodmapError, match="no song in the library matches 'nothing like this'"):
        near_playlist(table, "nothing like this")
    with pytest.raises(MoodmapError, match="songs match 'Chanson 1'"):
        near_playlist(table, "Chanson 1")
    with pytest.raises(MoodmapError, match="unknown mood 'grumpy'"):
        mood_playlist(table, "grumpy")
    with pytest.raises(MoodmapError, match="no library index"):
        SongTable.from_library(tmp_path / "missing.sqlite")


def test_a_song_can_be_named_by_its_file(table):
    path = table.rows[42]["path"]
    assert table.find(path) == 42 and table.find(str(table.rows[42]["id"])) == 42


def test_cli_writes_m3u8_and_json(db, tmp_path):
    runner = CliRunner()
    out = tmp_path / "calm.m3u8"
    result = runner.invoke(app, ["playlist", "--db", str(db), "--mood", "calm", "--n", "5", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("#EXTINF") == 5
    result = runner.invoke(app, ["playlist", "--db", str(db), "--arousal", "rise", "--n", "7", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["songs"]) == 7 and data["query"]["arousal"] == "rise"


def test_cli_table_and_mode_errors(db):
    runner = CliRunner()
    shown = runner.invoke(app, ["playlist", "--db", str(db), "--quadrant", "Q2", "--n", "3"])
    assert shown.exit_code == 0 and "Q2" in shown.stdout
    both = runner.invoke(app, ["playlist", "--db", str(db), "--mood", "sad", "--arousal", "rise"])
    assert both.exit_code == 2 and "choose one of" in both.output
    half = runner.invoke(app, ["playlist", "--db", str(db), "--from", "1"])
    assert half.exit_code == 2 and "both a start" in half.output


def test_constraints_look_past_the_first_candidates_when_they_must():
    rows = [{"id": i, "path": f"/m/{i}.flac", "artist": "Same", "valence": 0.78, "arousal": 0.6 + i * 1e-5}
            for i in range(300)]
    rows += [{"id": 1000 + k, "path": f"/m/o{k}.flac", "artist": f"Other {k}", "valence": 0.9 - k * 0.01,
              "arousal": 0.55} for k in range(5)]
    table = SongTable.from_rows(rows)
    result = mood_playlist(table, "happy", Constraints(n=6, exclude_artist_repeats=True))
    ids = [s["id"] for s in result.songs]
    assert ids[0] < 300 and ids[1:] == [1004, 1003, 1002, 1001, 1000]  # the other 299 "Same" songs skipped


def test_a_quoted_tilde_path_finds_the_song(tmp_path, monkeypatch):
    db = write_library_db(tmp_path, songs=5)
    monkeypatch.setenv("HOME", str(tmp_path))
    table = SongTable.from_library(db)
    first = Path(table.rows[2]["path"])
    assert table.find("~/" + str(first.relative_to(tmp_path))) == 2


def test_a_mood_that_runs_out_says_how_to_widen_it():
    rows = [{"id": i, "path": f"/m/{i}.flac", "valence": v, "arousal": a}
            for i, (v, a) in enumerate([(0.2, 0.2), (0.3, 0.45), (0.45, 0.3), (0.4, 0.4)], 1)]
    table = SongTable.from_rows(rows)
    result = mood_playlist(table, "sad", Constraints(n=10))
    assert len(result.songs) < 4 and "its quadrant holds 4: quadrant Q3" in result.note  # the APIs' terms …
    assert as_options(result.marked_note).endswith("its quadrant holds 4: --quadrant Q3")  # … and the command's
    with pytest.raises(MoodmapError, match="quadrant Q4") as refused:
        mood_playlist(SongTable.from_rows([{"id": 1, "path": "/m/a.flac", "valence": 0.9, "arousal": 0.45}]), "calm")
    assert "--quadrant Q4" in refused.value.for_command_line() and "--" not in str(refused.value)


def test_the_song_table_filters_by_mood_quadrant_and_text(table):
    calm_q4 = table.filter(mood="calm", quadrant="Q4")
    assert calm_q4 and all(table.rows[i]["quadrant"] == "Q4" for i in calm_q4)
    assert set(calm_q4) <= set(table.filter(mood="calm")) and len(table.filter()) == len(table)
    artist_3 = table.filter(quadrant="Q1", q="ARTIST 3")
    assert artist_3 and all(table.rows[i]["artist"] == "Artist 3" and table.rows[i]["quadrant"] == "Q1"
                            for i in artist_3)
    assert table.filter(q="no such song") == []


def test_a_playlist_shorter_than_asked_says_how_many_songs_there_are_and_how_many_were_asked_for():
    """"only 12 of 100 songs" read as 12 songs out of a library of 100: the note names what ran out."""
    from moodmap.library.playlist_query import query_filters
    from moodmap.library.playlists import range_playlist

    rows = [{"id": i, "path": f"/m/{i}.flac", "valence": v, "arousal": a}
            for i, (v, a) in enumerate([(0.2, 0.2), (0.7, 0.3), (0.8, 0.4), (0.75, 0.8)], 1)]
    table = SongTable.from_rows(rows)
    ranged = range_playlist(table, query_filters({"filters": {"valence": [0.6, 1.0], "arousal": [None, 0.5]}}),
                            Constraints(n=20))
    assert ranged.note == "only 2 songs have valence 0.6–1, arousal ≤ 0.5; 20 asked for"
    assert range_playlist(table, query_filters({}), Constraints(n=9)).note == \
        "only 4 songs in the library; 9 asked for"
    assert mood_playlist(table, "q4", Constraints(n=5)).note == "only 2 songs are in Q4; 5 asked for"
    assert mood_playlist(table, "relaxed", Constraints(n=5)).note.startswith(
        "only 2 songs are 'relaxed' (their nearest named emotion); 5 asked for")
