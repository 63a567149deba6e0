import json
import re

import pytest
from typer.testing import CliRunner

from helpers import write_library_db
from moodmap.cli import app
from moodmap.core.errors import MoodmapError
from moodmap.library.index import Library
from moodmap.library.mood_map import map_html, write_map
from moodmap.library.song_table import SongTable


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return write_library_db(tmp_path_factory.mktemp("lib"), songs=120, seed=2)


def embedded_data(page: str) -> dict:
    return json.loads(re.search(r"var moodmapData = (\{.*?\});\n", page, re.S).group(1))


def test_html_map_is_self_contained_and_holds_every_song(db):
    table = SongTable.from_library(db)
    page = map_html(table)
    data = embedded_data(page)
    assert len(data["songs"]) == 120 and {e["name"] for e in data["emotions"]} >= {"happy", "sad", "calm", "angry"}
    assert {"title", "artist", "path", "valence", "arousal"} <= set(data["songs"][0])
    assert "MoodMap.create" in page and "function create(container" in page  # the script is inlined
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # nothing fetched from the network


def test_html_escapes_script_breaking_titles(tmp_path):
    db = write_library_db(tmp_path, songs=3)
    library = Library(db)
    with library.db:
        library.db.execute("UPDATE songs SET title = '</script><b>x' WHERE id = 1")
    library.close()
    page = map_html(SongTable.from_library(db))
    assert "</script><b>" not in page
    assert embedded_data(page)["songs"][0]["title"] == "</script><b>x"


def test_png_map_and_trajectory(db, tmp_path):
    library = Library(db)
    timeline = [{"start": 5.0 * i, "valence": 0.2 + 0.05 * i, "arousal": 0.3 + 0.04 * i} for i in range(10)]
    with library.db:
        library.db.execute("UPDATE songs SET timeline = ? WHERE id = 7", (json.dumps(timeline),))
    library.close()
    out = tmp_path / "map.png"
    result = CliRunner().invoke(app, ["map", "--db", str(db), "-o", str(out), "--song", "7"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    html = tmp_path / "map.html"
    assert CliRunner().invoke(app, ["map", "--db", str(db), "-o", str(html), "--song", "7"]).exit_code == 0
    assert embedded_data(html.read_text(encoding="utf-8"))["trajectory"] == timeline


def test_map_errors_are_clear(db, tmp_path):
    table = SongTable.from_library(db)
    with pytest.raises(MoodmapError, match=r"\.png or \.html"):
        write_map(table, tmp_path / "map.svg")
    result = CliRunner().invoke(app, ["map", "--db", str(db), "-o", str(tmp_path / "m.png"), "--song", "8"])
    assert result.exit_code == 2 and "scan --timeline" in result.output
    empty = write_library_db(tmp_path / "empty", songs=0)
    result = CliRunner().invoke(app, ["map", "--db", str(empty), "-o", str(tmp_path / "e.html")])
    assert result.exit_code == 2 and "no songs" in result.output
