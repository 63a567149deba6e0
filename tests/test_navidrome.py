"""Navidrome smart playlists (.nsp) and navidrome.toml tags, through the CLI as the README shows them,
checked against what Navidrome accepts.

What Navidrome accepts is read from its source (navidrome/navidrome at 295886cb9, 2026-11):
model/criteria/json.go (operators), criteria.go (top-level keys), sort.go (order values),
fields.go plus resources/mappings.yaml (fields: built-ins, and tags such as ``mood``), and
conf/configuration.go (``[Tags.NAME]`` with Aliases / Type "int" | "float" | …).
"""
from __future__ import annotations

import json
import tomllib

import pytest
from typer.testing import CliRunner

from helpers import write_library_db
from moodmap.cli import app

OPERATORS = {"is", "isnot", "gt", "lt", "contains", "notcontains", "startswith", "endswith", "intherange", "before",
             "after", "inthelast", "notinthelast", "inplaylist", "notinplaylist", "ismissing", "ispresent"}
CONJUNCTIONS = {"all", "any"}
TOP_LEVEL = {"name", "comment", "public", "all", "any", "sort", "order", "limit", "limitPercent", "offset",
             "refreshDelay"}
MAPPED_TAGS = {"mood", "genre", "title", "artist", "album", "year", "bpm", "random"}  # a few Navidrome knows unasked
TAG_TYPES = {"string", "int", "float", "date", "uuid", "pair"}


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(app, list(args))
    assert (result.exit_code == 0) is ok, result.output
    return result


def declared_tags() -> dict:
    return tomllib.loads(run("integrate", "navidrome").output)["Tags"]


def fields_of(expressions: list[dict]) -> list[tuple[str, str, object]]:
    """(operator, field, value) of every rule, conjunctions unfolded; fails on anything Navidrome would refuse."""
    found = []
    for expression in expressions:
        (operator, body), = expression.items()
        if operator.lower() in CONJUNCTIONS:
            found += fields_of(body)
            continue
        assert operator.lower() in OPERATORS, operator
        (field, value), = body.items()
        found.append((operator.lower(), field.lower(), value))
    return found


def check_nsp(text: str, known: set[str]) -> dict:
    nsp = json.loads(text)
    assert set(nsp) <= TOP_LEVEL and not ("all" in nsp and "any" in nsp)
    for _, field, _ in fields_of(nsp.get("all") or nsp.get("any")):
        assert field in known, f"Navidrome has no field {field!r}"
    assert nsp["sort"].lower() in known | {"random"} and nsp.get("order", "asc") in ("asc", "desc")
    assert isinstance(nsp["limit"], int) and nsp["limit"] > 0
    return nsp


@pytest.fixture
def library(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_library_db(tmp_path, songs=60)


def test_the_toml_declares_every_tag_moodmap_writes_as_navidrome_reads_them():
    tags = declared_tags()
    assert set(tags) == {"valence", "arousal", "moodmap_quadrant"}
    for name, conf in tags.items():
        assert set(conf) <= {"Aliases", "Type", "Split", "Album", "MaxLength", "Ignore"}
        assert conf.get("Type", "string") in TAG_TYPES
        # ID3 TXXX, Vorbis comment and iTunes freeform, lower case as in Navidrome's mappings.yaml
        assert conf["Aliases"] == [f"txxx:{name}", name, f"----:com.apple.itunes:{name}"]
    assert tags["valence"]["Type"] == tags["arousal"]["Type"] == "float"


@pytest.mark.parametrize("args, field, value", [(("--mood", "calm"), "mood", "calm"),
                                                (("--mood", "joy"), "mood", "happy"),  # an alias: the tag's word
                                                (("--quadrant", "q4"), "moodmap_quadrant", "Q4")])
def test_a_mood_playlist_becomes_a_smart_playlist_navidrome_accepts(library, tmp_path, args, field, value):
    out = run("playlist", "--db", str(library), *args, "--n", "25", "-o", "mine.nsp")
    assert "smart playlist 'mine'" in out.output
    nsp = check_nsp((tmp_path / "mine.nsp").read_text(), MAPPED_TAGS | set(declared_tags()))
    assert fields_of(nsp["all"]) == [("is", field, value)] and nsp["limit"] == 25 and nsp["name"] == "mine"


@pytest.mark.parametrize("args", [("--near", "1"), ("--arousal", "rise"), ("--from", "1", "--to", "2"),
                                  ("--mood", "calm", "--exclude-artist-repeats"), ("--mood", "calm", "--seed", "3")])
def test_what_rules_cannot_say_is_refused_in_one_line_offering_m3u8(library, tmp_path, args):
    out = run("playlist", "--db", str(library), *args, "-o", "x.nsp", ok=False)
    assert out.exit_code == 2 and ".m3u8" in out.output and len(out.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.nsp").exists()


def test_integrate_writes_into_navidrome_toml_once_and_keeps_the_original(tmp_path):
    config = tmp_path / "navidrome.toml"
    config.write_text('MusicFolder = "/music"\n')
    run("integrate", "navidrome", "--write", str(config))
    merged = tomllib.loads(config.read_text())
    assert merged["MusicFolder"] == "/music" and set(merged["Tags"]) == {"valence", "arousal", "moodmap_quadrant"}
    assert (tmp_path / "navidrome.toml.bak").read_text() == 'MusicFolder = "/music"\n'
    again = run("integrate", "navidrome", "--write", str(config), ok=False)
    assert "already declares moodmap's tags; nothing was changed" in again.output
    assert tomllib.loads(config.read_text()) == merged


@pytest.mark.parametrize("args", [("--valence", "0.6:1", "--arousal", ":0.4", "--sort", "arousal-"),
                                  ("--mood", "calm", "--valence", "0.5:", "--genre", "jazz", "--sort", "valence"),
                                  ("--quadrant", "Q1", "--artist", "Nina", "--album", "Blue"),
                                  ("--genre", "ambient",)])
def test_a_range_playlist_becomes_a_smart_playlist_navidrome_accepts(library, tmp_path, args):
    """Every name is Navidrome's, and a range on a tag is never ``inTheRange``: persistence/criteria_sql.go's
    rangeExpr refuses it on a tag ("range operator not supported for tag/role field")."""
    run("playlist", "--db", str(library), *args, "--n", "25", "-o", "ranged.nsp")
    nsp = check_nsp((tmp_path / "ranged.nsp").read_text(), MAPPED_TAGS | set(declared_tags()))
    rules = fields_of(nsp["all"])
    assert rules and all(operator != "intherange" for operator, _, _ in rules)
    assert {field for _, field, _ in rules} <= {"mood", "moodmap_quadrant", "valence", "arousal", "genre", "artist",
                                                 "album"}
