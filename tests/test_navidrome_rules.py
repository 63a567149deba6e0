"""Navidrome's files exactly as moodmap writes them: the ``.nsp`` text docs/library/servers/navidrome.md shows, the
``navidrome.toml`` lines and how they are appended, and the one-line refusals (the mutation run of
``navidrome`` found these unchecked: docs/explanation/mutation.md)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from helpers import write_library_db
from moodmap.cli import app
from moodmap.library.navidrome import NotExpressible, to_nsp
from moodmap.library.playlists import Constraints

TOML = """\
# moodmap's tags as Navidrome fields (smart playlists can filter and sort on them).
# Add to navidrome.toml, restart Navidrome and run a full scan once.

[Tags.valence]
Aliases = ["txxx:valence", "valence", "----:com.apple.itunes:valence"]
Type = "float"

[Tags.arousal]
Aliases = ["txxx:arousal", "arousal", "----:com.apple.itunes:arousal"]
Type = "float"

[Tags.moodmap_quadrant]
Aliases = ["txxx:moodmap_quadrant", "moodmap_quadrant", "----:com.apple.itunes:moodmap_quadrant"]
"""


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(app, list(args))
    assert (result.exit_code == 0) is ok, result.output
    return result


@pytest.fixture
def library(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_library_db(tmp_path, songs=60)


def test_a_mood_nsp_is_the_text_the_docs_show_with_its_title_unescaped(library, tmp_path):
    run("playlist", "--db", str(library), "--mood", "calm", "--n", "50", "-o", "ruhig café.nsp")
    assert (tmp_path / "ruhig café.nsp").read_text(encoding="utf-8") == """\
{
  "name": "ruhig café",
  "comment": "moodmap: songs whose nearest named emotion is calm (the MOOD tag)",
  "all": [
    {
      "is": {
        "mood": "calm"
      }
    }
  ],
  "sort": "random",
  "limit": 50
}
"""


def test_a_quadrant_nsp_names_the_quadrant_tag_in_upper_case(library, tmp_path):
    run("playlist", "--db", str(library), "--quadrant", "q4", "--n", "20", "-o", "q4.nsp")
    assert json.loads((tmp_path / "q4.nsp").read_text()) == {
        "name": "q4", "comment": "moodmap: songs in quadrant Q4 (the MOODMAP_QUADRANT tag)",
        "all": [{"is": {"moodmap_quadrant": "Q4"}}], "sort": "random", "limit": 20}


@pytest.mark.parametrize("args, message", [
    (("--near", "1"), "moodmap: a 'near' playlist depends on particular songs or an order, which Navidrome's rules "
                      "cannot express; write it as .m3u8 instead"),
    (("--mood", "calm", "--seed", "3"), "moodmap: spacing, one-song-per-artist and seeded draws are not rules "
                                        "Navidrome has; drop them or write .m3u8 instead")])
def test_a_refusal_says_what_rules_cannot_express(library, args, message):
    assert run("playlist", "--db", str(library), *args, "-o", "x.nsp", ok=False).output.strip() == message


def test_a_query_without_a_mood_is_refused_as_a_none_playlist():
    with pytest.raises(NotExpressible, match="^a 'none' playlist depends on particular songs"):
        to_nsp({"mood": None, "near": None}, Constraints(n=10), "empty")


def test_integrate_prints_the_toml_lines_the_docs_show():
    assert run("integrate", "navidrome").output.startswith(TOML + "\n# Then:\n")


@pytest.mark.parametrize("old, merged", [(None, "\n" + TOML),
                                         ('MusicFolder = "/music"', 'MusicFolder = "/music"\n\n' + TOML),
                                         ('MusicFolder = "/music"\n', 'MusicFolder = "/music"\n\n' + TOML)])
def test_integrate_appends_after_one_blank_line_whatever_the_file_ends_with(tmp_path, old, merged):
    config = tmp_path / "navidrome.toml"
    if old is not None:
        config.write_text(old, encoding="utf-8")
    run("integrate", "navidrome", "--write", str(config))
    assert config.read_text(encoding="utf-8") == merged
    assert (tmp_path / "navidrome.toml.bak").exists() is (old is not None)


def test_a_second_integrate_names_the_file_it_left_alone(tmp_path):
    config = tmp_path / "navidrome.toml"
    run("integrate", "navidrome", "--write", str(config))
    again = run("integrate", "navidrome", "--write", str(config), ok=False)
    assert again.output.strip() == f"moodmap: {config}: already declares moodmap's tags; nothing was changed"


def test_an_nsp_written_before_any_tag_says_navidrome_will_find_nothing_yet(library, tmp_path):
    """Navidrome selects by the files' tags: an .nsp over an index whose files carry none matches
    nothing there, which the note says; once tags are written, no note."""
    import sqlite3

    note = "no file of this index carries moodmap's tags yet"
    assert note in run("playlist", "--db", str(library), "--mood", "calm", "-o", "calm.nsp").stderr
    with sqlite3.connect(library) as connection:
        connection.execute("INSERT INTO tag_journal VALUES ('/m/1.flac', 'valence', NULL, '0.5', '2026-11-30')")
    connection.close()
    done = run("playlist", "--db", str(library), "--mood", "calm", "-o", "calm.nsp")
    assert note not in done.stderr and (tmp_path / "calm.nsp").exists()
