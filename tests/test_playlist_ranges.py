"""Range playlists as a user types them: ``moodmap playlist --valence 0.6:1 --arousal :0.4 --sort arousal-``,
with --genre / --artist / --album / --text, alone or with a mood, written as M3U8, JSON and Navidrome ``.nsp``
and asked of the HTTP API.

What an ``.nsp`` means is checked by running it: ``navidrome_songs`` evaluates its rules in SQLite the way
Navidrome does (read from navidrome/navidrome at 295886cb9, persistence/criteria_sql.go: a tag rule is
``exists (select 1 from json_tree(media_file.tags, '$.TAG') where key='value' and COND)``, numeric tags
compared as ``CAST(value AS REAL)``, ``contains`` a SQL ``LIKE '%…%'``, the ``artist`` role matched on each
name the ARTIST tag is split into, genres split at ; / , as resources/mappings.yaml says), over tags as
``scan --write-tags`` writes them (three decimals), and must select the songs moodmap's own playlist has.
"""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from moodmap.cli import app
from moodmap.library.index import Library
from moodmap.core.mood import describe

# (title, artist, album, genre, valence, arousal): edges of 0.6 and 0.8 at the tags' three decimals, genres and
# artists in the forms Navidrome splits, then a crowd to sort and cut.
EDGES = [
    ("Just Below", "Low Tide", "Shorelines", "Ambient", 0.5994, 0.30),   # tagged 0.599: out of 0.6:
    ("Rounds Up", "Low Tide", "Shorelines", "Jazz", 0.5996, 0.35),       # tagged 0.600: in
    ("Exactly", "Nina Solé", "Blue Hours", "Acid Jazz", 0.6, 0.20),
    ("Top Edge", "Nina Solé", "Blue Hours", "Jazz; Funk", 0.8004, 0.10),  # tagged 0.800: in 0.6:0.8
    ("Over The Top", "Sigur Rós", "Ágætis", "Rock/Pop", 0.8006, 0.15),   # tagged 0.801: out of 0.6:0.8
    ("Full Scale", "Brass Engine feat. Nina Solé", "Full Steam", None, 1.0, 0.0),
    ("Bottom", "Brass Engine", "Full Steam", "jazz", 0.0, 1.0),
]
GENRES = ["Jazz", "Rock", "Ambient", "Jazz; Funk", "Classical", None]


def songs() -> list[tuple]:
    rng = np.random.default_rng(34)
    crowd = [(f"Song {i}", f"Artist {i % 6}", f"Album {i % 4}", GENRES[i % len(GENRES)],
              *(float(x) for x in rng.uniform(0.02, 0.98, 2))) for i in range(60)]
    return EDGES + crowd


def make_index(folder: Path) -> Path:
    """An index of ``songs()`` whose files exist (empty: playlists only need their paths)."""
    library = Library(folder / "library.sqlite")
    for i, (title, artist, album, genre, v, a) in enumerate(songs()):
        path = folder / "Music" / (album or "none") / f"{i:02d} {title}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        mood = describe(v, a)
        library.save({"path": str(path), "fingerprint": f"f{i}", "size": 0, "mtime_ns": 0, "title": title,
                      "artist": artist, "album": album, "genre": genre, "duration": 200.0, "valence": v,
                      "arousal": a, "valence_spread": 0.01, "arousal_spread": 0.01, "quadrant": mood.quadrant,
                      "emotion": mood.emotion, "model": "test", "model_sha": "x", "timeline": None,
                      "analysed_at": "2026-11-30T00:00:00"})
    library.close()
    return folder / "library.sqlite"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_index(tmp_path_factory.mktemp("ranges"))


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert (result.exit_code == 0) is ok, result.output
    return result


def titles(db: Path, *args: str) -> list[str]:
    """The playlist's titles, in order, from the JSON the CLI writes to stdout."""
    return [song["title"] for song in json.loads(run("playlist", "--db", db, *args, "--format", "json").stdout)["songs"]]


def tag(value: float) -> float:
    return float(f"{value:.3f}")


def expected(valence=(None, None), arousal=(None, None), keep=lambda song: True) -> set[str]:
    """Titles of the songs whose tags fall in both ranges (ends included) and that ``keep`` keeps."""
    def inside(value, bounds):
        low, high = bounds
        return (low is None or tag(value) >= low) and (high is None or tag(value) <= high)
    return {s[0] for s in songs() if inside(s[4], valence) and inside(s[5], arousal) and keep(s)}


# Ranges --------------------------------------------------------------------------------------------------------

def test_a_range_includes_both_ends_as_the_tags_hold_them(db):
    chosen = titles(db, "--valence", "0.6:0.8", "--n", "500")
    assert {"Rounds Up", "Exactly", "Top Edge"} <= set(chosen)
    assert not {"Just Below", "Over The Top", "Full Scale"} & set(chosen)
    assert set(chosen) == expected(valence=(0.6, 0.8))


@pytest.mark.parametrize("args, valence, arousal", [
    (("--valence", "0.6:"), (0.6, None), (None, None)),
    (("--arousal", ":0.4"), (None, None), (None, 0.4)),
    (("--valence", "0.6:1", "--arousal", ":0.4"), (0.6, 1.0), (None, 0.4)),
    (("--valence", "0:1"), (None, None), (None, None))])
def test_open_and_closed_ends_select_every_song_in_the_range(db, args, valence, arousal):
    assert set(titles(db, *args, "--n", "500")) == expected(valence, arousal)


def test_a_range_playlist_without_sort_puts_the_middle_of_the_range_first(db):
    chosen = titles(db, "--valence", "0.6:1", "--arousal", ":0.4", "--n", "3")
    by_title = {s[0]: s for s in songs()}
    distance = [np.hypot(by_title[t][4] - 0.8, by_title[t][5] - 0.2) for t in chosen]
    nearest = sorted(np.hypot(s[4] - 0.8, s[5] - 0.2) for s in songs() if s[0] in expected((0.6, 1), (None, 0.4)))
    assert distance == pytest.approx(nearest[:3], abs=0.03)  # expected distance: spreads are 0.01 each


@pytest.mark.parametrize("option, value, message", [
    ("--valence", "0.8:0.2", "moodmap: --valence '0.8:0.2': the low end is above the high end (did you mean "
                             "0.2:0.8?)"),
    ("--valence", "abc", "moodmap: --valence 'abc': give a range LO:HI on the 0–1 scale, either end open "
                         "(0.6:1, 0.6:, :0.4)"),
    ("--valence", "0.5", "moodmap: --valence '0.5': give a range LO:HI on the 0–1 scale, either end open "
                         "(0.6:1, 0.6:, :0.4)"),
    ("--arousal", "abc:", "moodmap: --arousal 'abc:': 'abc' is not a number (a range is LO:HI on the 0–1 scale)"),
    ("--arousal", "0.2:1.5", "moodmap: --arousal '0.2:1.5': 1.5 is outside the 0–1 scale"),
    ("--valence", "-0.1:", "moodmap: --valence '-0.1:': -0.1 is outside the 0–1 scale"),
    ("--arousal", "abc", "moodmap: unknown arousal curve 'abc'; choose from rise, fall, arc, or give a range "
                         "LO:HI (0.2:0.6, :0.4)")])
def test_a_bad_range_is_one_line_and_exit_2(db, option, value, message):
    result = run("playlist", "--db", db, option, value, ok=False)
    assert result.exit_code == 2
    assert result.output.strip() == message


# Sorts ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sort, descending", [("arousal", False), ("arousal+", False), ("arousal-", True),
                                              ("valence-", True), ("Valence", False), ("-arousal", True)])
def test_a_sort_takes_the_first_songs_in_its_order(db, sort, descending):
    axis = 5 if "arousal" in sort.lower() else 4
    chosen = titles(db, "--valence", "0.3:", "--sort", sort, "--n", "8")
    pool = sorted((s for s in songs() if s[0] in expected(valence=(0.3, None))), key=lambda s: s[axis],
                  reverse=descending)
    assert chosen == [s[0] for s in pool[:8]]


def test_a_sort_alone_orders_the_whole_library(db):
    assert titles(db, "--sort", "arousal-", "--n", "1") == ["Bottom"]


def test_a_sort_with_a_mood_takes_the_first_songs_of_that_mood_in_its_order(db):
    calm = sorted((s for s in songs() if describe(s[4], s[5]).emotion == "calm"), key=lambda s: -s[4])
    assert titles(db, "--mood", "calm", "--sort", "valence-", "--n", "4") == [s[0] for s in calm[:4]]


def test_a_sort_with_near_orders_the_nearest_songs(db):
    nearest = titles(db, "--near", "Exactly", "--n", "6")
    arousal = {s[0]: s[5] for s in songs()}
    assert titles(db, "--near", "Exactly", "--sort", "arousal-", "--n", "6") == \
        sorted(nearest, key=lambda t: -arousal[t])


@pytest.mark.parametrize("args, message", [
    (("--sort", "energy"), "moodmap: --sort 'energy': sort by valence or arousal, a - after it for highest first "
                           "(arousal-)"),
    (("--arousal", "rise", "--sort", "valence"), "moodmap: --sort orders a set of songs; an energy curve has an "
                                                  "order of its own"),
    (("--valence", "0.2:", "--sort", "valence", "--seed", "3"),
     "moodmap: --seed draws a varied playlist and --sort puts it in order: choose one")])
def test_a_sort_that_cannot_apply_is_refused_in_one_line(db, args, message):
    assert run("playlist", "--db", db, *args, ok=False).output.strip() == message


# Tags and text -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, keep", [
    (("--genre", "JAZZ"), lambda s: "jazz" in (s[3] or "").lower()),
    (("--genre", "funk"), lambda s: s[3] == "Jazz; Funk"),
    (("--artist", "nina solé"), lambda s: "Nina Solé" in s[1]),
    (("--artist", "sigur rós"), lambda s: s[1] == "Sigur Rós"),
    (("--album", "full steam"), lambda s: s[2] == "Full Steam"),
    (("--text", "over the"), lambda s: s[0] == "Over The Top")])
def test_a_tag_filter_keeps_the_songs_whose_tag_holds_the_text(db, args, keep):
    chosen = titles(db, *args, "--n", "500")
    assert chosen and set(chosen) == expected(keep=keep)


def test_letters_beyond_a_to_z_match_in_the_case_given_as_navidrome_matches_them(db):
    assert titles(db, "--artist", "SIGUR RóS") == ["Over The Top"]
    result = run("playlist", "--db", db, "--artist", "SIGUR RÓS", "--format", "json", ok=False)
    assert result.output.strip() == "moodmap: no song in the library has artist ~ SIGUR RÓS"


def test_a_range_combines_with_a_mood_and_a_genre(db):
    chosen = titles(db, "--mood", "calm", "--valence", "0.6:", "--genre", "jazz", "--n", "500")
    calm = {s[0] for s in songs() if describe(s[4], s[5]).emotion == "calm"}
    assert chosen and set(chosen) == expected(valence=(0.6, None), keep=lambda s: "jazz" in (s[3] or "").lower()) & calm


def test_a_quadrant_with_an_arousal_range_stays_in_both(db):
    chosen = titles(db, "--quadrant", "Q1", "--arousal", "0.7:", "--n", "500")
    q1 = {s[0] for s in songs() if describe(s[4], s[5]).quadrant == "Q1"}
    assert chosen and set(chosen) == expected(arousal=(0.7, None)) & q1


def test_near_path_and_curve_take_only_songs_that_pass_the_filters(db):
    near = titles(db, "--near", "Exactly", "--genre", "jazz", "--n", "5")
    assert all("jazz" in (s[3] or "").lower() for s in songs() if s[0] in near)
    walk = titles(db, "--from", "Bottom", "--to", "Full Scale", "--steps", "6", "--arousal", "0.3:0.7")
    assert walk[0] == "Bottom" and walk[-1] == "Full Scale" and len(walk) > 2
    assert set(walk[1:-1]) <= expected(arousal=(0.3, 0.7))
    curve = titles(db, "--arousal", "rise", "--genre", "rock", "--n", "5")
    assert set(curve) <= expected(keep=lambda s: "rock" in (s[3] or "").lower()) and len(curve) == 5


def test_no_song_matching_is_one_line_naming_the_filters(db):
    result = run("playlist", "--db", db, "--mood", "calm", "--genre", "polka", ok=False)
    assert result.output.strip() == "moodmap: no song in the library is 'calm' with genre ~ polka"


# Files ---------------------------------------------------------------------------------------------------------

def test_an_m3u8_lists_the_range_with_paths_relative_to_it(db, tmp_path):
    out = tmp_path / "lists" / "bright calm.m3u8"
    out.parent.mkdir()
    run("playlist", "--db", db, "--valence", "0.6:1", "--arousal", ":0.4", "--sort", "arousal-", "-o", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    count = len(expected(valence=(0.6, 1), arousal=(None, 0.4)))
    assert lines[1] == f"#PLAYLIST:valence 0.6–1, arousal ≤ 0.4, by arousal, highest first — {count} songs"
    paths = [line for line in lines if not line.startswith("#")]
    assert all(not Path(p).is_absolute() and (out.parent / p).exists() for p in paths)
    assert [Path(p).stem.split(" ", 1)[1] for p in paths] == \
        titles(db, "--valence", "0.6:1", "--arousal", ":0.4", "--sort", "arousal-")


def test_the_json_says_what_was_asked(db):
    query = json.loads(run("playlist", "--db", db, "--valence", "0.6:", "--genre", "jazz", "--sort", "valence-",
                           "--n", "3", "--format", "json").stdout)["query"]
    assert query == {"filters": {"valence": [0.6, None], "genre": "jazz"}, "sort": "valence-", "n": 3,
                     "min_distance": 0.0, "exclude_artist_repeats": False, "seed": None}


# Navidrome -----------------------------------------------------------------------------------------------------

def nsp(db: Path, *args: str) -> dict:
    return json.loads(run("playlist", "--db", db, *args, "--format", "nsp").stdout)


def test_a_range_nsp_is_gt_or_is_and_lt_or_is_rules_on_the_float_tags(db):
    assert nsp(db, "--valence", "0.6:1", "--arousal", ":0.4", "--sort", "arousal-", "--genre", "jazz",
               "--n", "30") == {
        "name": "valence 0.6–1, arousal ≤ 0.4, genre ~ jazz (moodmap)",
        "comment": "moodmap: songs with valence 0.6–1 (the VALENCE tag), with arousal ≤ 0.4 (the AROUSAL tag), "
                   "whose genre contains 'jazz'",
        "all": [{"any": [{"gt": {"valence": 0.6}}, {"is": {"valence": 0.6}}]},
                {"any": [{"lt": {"valence": 1}}, {"is": {"valence": 1}}]},
                {"any": [{"lt": {"arousal": 0.4}}, {"is": {"arousal": 0.4}}]},
                {"contains": {"genre": "jazz"}}],
        "sort": "arousal", "order": "desc", "limit": 30}


def test_a_mood_nsp_with_a_range_and_an_artist_keeps_the_mood_rule_first(db):
    assert nsp(db, "--mood", "calm", "--valence", "0.7:", "--artist", "Nina", "--sort", "valence", "--n", "10") == {
        "name": "calm (moodmap)",
        "comment": "moodmap: songs whose nearest named emotion is calm (the MOOD tag), with valence ≥ 0.7 (the "
                   "VALENCE tag), whose artist contains 'Nina'",
        "all": [{"is": {"mood": "calm"}}, {"any": [{"gt": {"valence": 0.7}}, {"is": {"valence": 0.7}}]},
                {"contains": {"artist": "Nina"}}],
        "sort": "valence", "limit": 10}


def test_a_tag_only_nsp_keeps_out_the_songs_moodmap_never_tagged(db):
    assert nsp(db, "--album", "Blue", "--n", "5")["all"] == [{"gt": {"valence": -1}}, {"contains": {"album": "Blue"}}]


@pytest.mark.parametrize("args, message", [
    (("--text", "blue"), "moodmap: --text looks in titles and file names too, which no one Navidrome rule does; use "
                         "--genre, --artist or --album, or write .m3u8 instead"),
    (("--genre", "rock/pop"), "moodmap: --genre 'rock/pop': Navidrome splits genre values at '/' and matches each "
                              "alone; look for one genre or write .m3u8 instead"),
    (("--artist", "engine feat. nina"), "moodmap: --artist 'engine feat. nina': Navidrome splits artist values at "
                                        "'feat.' and matches each alone; look for one artist or write .m3u8 instead"),
    (("--album", "100%"), "moodmap: --album '100%': Navidrome reads % and _ in a rule as wildcards; leave them out "
                          "or write .m3u8 instead"),
    (("--near", "Exactly", "--valence", "0.5:"), "moodmap: a 'near' playlist depends on particular songs or an "
                                                 "order, which Navidrome's rules cannot express; write it as .m3u8 "
                                                 "instead")])
def test_an_nsp_that_would_mean_something_else_is_refused_in_one_line(db, tmp_path, args, message):
    result = run("playlist", "--db", db, *args, "-o", tmp_path / "x.nsp", ok=False)
    assert result.output.strip() == message and not (tmp_path / "x.nsp").exists()


def navidrome_db(rows: list[tuple]) -> sqlite3.Connection:
    """Navidrome's tables as far as these rules read them, filled with ``rows`` as its scanner would
    see files tagged by ``scan --write-tags``: VALENCE/AROUSAL with three decimals, MOOD, genres split at
    ; / , and the ARTIST tag split into the "artist" role's names."""
    db = sqlite3.connect(":memory:")
    db.executescript("CREATE TABLE media_file (id INTEGER PRIMARY KEY, title TEXT, album TEXT, tags TEXT);"
                     "CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT);"
                     "CREATE TABLE media_file_artists (media_file_id INTEGER, artist_id INTEGER, role TEXT);")
    for i, (title, artist, album, genre, v, a) in enumerate(rows):
        mood = describe(v, a)
        genres = [g.strip() for g in re.split("[;/,]", genre or "") if g.strip()]
        tags = {"valence": [f"{v:.3f}"], "arousal": [f"{a:.3f}"], "mood": [mood.emotion],
                "moodmap_quadrant": [mood.quadrant or "neutral"], "genre": genres}
        db.execute("INSERT INTO media_file VALUES (?, ?, ?, ?)", (i, title, album, json.dumps(
            {name: [{"value": value} for value in values] for name, values in tags.items() if values})))
        for name in re.split(" / | feat\\. | feat | ft\\. | ft |; ", artist):
            db.execute("INSERT INTO artist (name) VALUES (?)", (name,))
            db.execute("INSERT INTO media_file_artists VALUES (?, last_insert_rowid(), 'artist')", (i,))
    return db


NUMERIC = {"valence", "arousal"}  # declared Type = "float" (moodmap integrate navidrome)
SQL_OPERATORS = {"is": "=", "gt": ">", "lt": "<", "contains": "LIKE"}


def rule_sql(rule: dict) -> tuple[str, list]:
    """One rule as Navidrome's persistence/criteria_sql.go writes it."""
    (operator, body), = rule.items()
    if operator in ("all", "any"):
        parts = [rule_sql(child) for child in body]
        return "(" + f" {'AND' if operator == 'all' else 'OR'} ".join(p for p, _ in parts) + ")", \
            [arg for _, args in parts for arg in args]
    (field, value), = body.items()
    value = f"%{value}%" if operator == "contains" else value
    compare = f"{SQL_OPERATORS[operator]} ?"
    if field == "album":
        return f"media_file.album {compare}", [value]
    if field == "artist":
        return ("exists (select 1 from media_file_artists mfa join artist on artist.id = mfa.artist_id where "
                f"mfa.media_file_id = media_file.id and mfa.role = 'artist' and artist.name {compare})"), [value]
    column = "CAST(value AS REAL)" if field in NUMERIC else "value"
    return (f"exists (select 1 from json_tree(media_file.tags, '$.{field}') where key='value' and "
            f"{column} {compare})"), [value]


def navidrome_songs(smart: dict, rows: list[tuple]) -> list[str]:
    """The titles Navidrome's query for ``smart`` returns (in its order when it has one)."""
    where, args = rule_sql({"all": smart["all"]})
    order = "random()" if smart["sort"] == "random" else \
        f"CAST(COALESCE(json_extract(media_file.tags, '$.{smart['sort']}[0].value'), '') AS REAL) " \
        f"{smart.get('order', 'asc')}"
    query = f"SELECT title FROM media_file WHERE {where} ORDER BY {order} LIMIT {smart['limit']}"
    return [row[0] for row in navidrome_db(rows).execute(query, args)]


@pytest.mark.parametrize("args", [
    ("--valence", "0.6:0.8"),
    ("--valence", "0.6:1", "--arousal", ":0.4"),
    ("--arousal", "0.35:0.35"),
    ("--mood", "calm", "--valence", "0.7:"),
    ("--quadrant", "Q2", "--arousal", ":0.8"),
    ("--genre", "JAZZ"),
    ("--genre", "funk", "--valence", ":0.5"),
    ("--artist", "nina solé"),
    ("--artist", "sigur rós"),
    ("--album", "steam", "--arousal", "0.5:")])
def test_the_nsp_selects_exactly_the_songs_of_the_playlist(db, args):
    ours = titles(db, *args, "--n", "500")
    theirs = navidrome_songs(nsp(db, *args, "--n", "500"), songs())
    assert ours and sorted(theirs) == sorted(ours)


@pytest.mark.parametrize("sort", ["arousal-", "valence"])
def test_a_sorted_nsp_lists_the_songs_of_the_playlist_in_its_order(db, sort):
    """The same songs in the same order, up to songs whose tags hold the same value (Navidrome orders
    those as it likes; moodmap by the values it holds, which round to the tags' order)."""
    args = ("--valence", "0.2:0.9", "--sort", sort, "--n", "12")
    ours, theirs = titles(db, *args), navidrome_songs(nsp(db, *args), songs())
    axis = {s[0]: tag(s[5] if sort.startswith("arousal") else s[4]) for s in songs()}
    assert sorted(theirs) == sorted(ours) and [axis[t] for t in theirs] == [axis[t] for t in ours]


# The HTTP API --------------------------------------------------------------------------------------------------

def test_the_http_api_returns_the_songs_the_cli_does(db):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from moodmap.web.app import ServerSettings, create_app

    cli = titles(db, "--valence", "0.6:1", "--arousal", ":0.4", "--genre", "jazz", "--sort", "arousal-", "--n", "5")
    with TestClient(create_app(ServerSettings(db=db)), base_url="http://127.0.0.1") as client:
        posted = client.post("/api/playlists", json={"valence": "0.6:1", "arousal": ":0.4", "genre": "jazz",
                                                     "sort": "arousal-", "n": 5})
        linked = client.get("/api/playlists", params={"valence": "0.6:1", "arousal": ":0.4", "genre": "jazz",
                                                      "sort": "arousal-", "n": 5})
        refused = client.post("/api/playlists", json={"valence": "0.8:0.2"})
        smart = client.post("/api/playlists", json={"valence": "0.6:1", "arousal": ":0.4", "genre": "jazz",
                                                    "sort": "arousal-", "n": 5, "format": "nsp"})
        not_rules = client.post("/api/playlists", json={"valence": "0.6:1", "text": "blue", "format": "nsp"})
    assert [s["title"] for s in posted.json()["songs"]] == cli == [s["title"] for s in linked.json()["songs"]]
    assert refused.status_code == 400 and "the low end is above the high end" in refused.text
    assert smart.json() == nsp(db, "--valence", "0.6:1", "--arousal", ":0.4", "--genre", "jazz", "--sort", "arousal-",
                               "--n", "5")
    # the HTTP API names its own fields, never the command line's options
    assert not_rules.status_code == 400 and '"text looks in titles and file names too' in not_rules.text
    assert "--" not in not_rules.json()["detail"]


# Tags as scanned -----------------------------------------------------------------------------------------------

def test_every_genre_of_a_file_is_read_so_a_second_genre_is_found(tmp_path):
    import mutagen
    import soundfile as sf

    from moodmap.library.tags import read_tags

    path = tmp_path / "two genres.flac"
    sf.write(path, np.zeros(8000), 8000)
    handle = mutagen.File(path, easy=True)
    handle["genre"] = ["Jazz", "Funk"]
    handle.save()
    assert read_tags(path).genre == "Jazz; Funk"


def test_ranges_read_each_value_as_its_tag_is_written_even_on_a_half():
    from moodmap.library.song_table import SongTable, tagged_values

    rng = np.random.default_rng(1)
    values = np.concatenate([np.arange(1000) / 1000 + 0.0005, rng.uniform(0, 1, 2000), rng.integers(0, 2000, 500) / 2000])
    table = SongTable.from_rows([{"id": i, "path": f"/m/{i}", "valence": float(v), "arousal": 0.5}
                                 for i, v in enumerate(values)])
    assert tagged_values(table, "valence").tolist() == [float(f"{v:.3f}") for v in values.tolist()]


def test_a_note_names_options_on_the_command_line_and_fields_in_json(db):
    """The library marks a parameter in a note; the CLI says it as an option, the JSON (the APIs) as a field."""
    said = run("playlist", "--db", db, "--mood", "sad", "--n", "100", "--format", "json")
    note = json.loads(said.stdout)["note"]
    assert re.search(r"; its quadrant holds \d+: quadrant Q3$", note), note
    assert re.search(r"^moodmap: note: .*; its quadrant holds \d+: --quadrant Q3$", said.stderr, flags=re.M), said.stderr
