"""The library on the valence/arousal plane: a PNG, or one self-contained interactive HTML page.

The HTML page inlines the same script and styles the web app serves
(``moodmap/web/static/mood-map.js``), so it opens from disk with no server and no
network: zoom, pan, hover for title and artist, click to copy a song's path.
"""
from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from ..core.atomic import atomic_path, atomic_write_text
from ..core.errors import MoodmapError
from ..core.mood import EMOTIONS, QUADRANT_EXAMPLES
from .song import MAP, columns
from .song_table import SongTable, require_songs

MAP_FIELDS = columns(MAP)


def map_data(table: SongTable, trajectory: list[dict] | None = None, path: list[int] | None = None) -> dict:
    """What the map script draws: songs, named-emotion anchors, quadrant names, optional lines."""
    return {
        "songs": [{key: row[key] for key in MAP_FIELDS} for row in table.rows],
        "emotions": [{"name": e.name, "valence": e.valence, "arousal": e.arousal} for e in EMOTIONS],
        "quadrants": dict(QUADRANT_EXAMPLES),
        "trajectory": trajectory,
        "path": path,
    }


def asset(name: str) -> str:
    """A file of the web app's static folder, as text."""
    return resources.files("moodmap.web").joinpath("static", name).read_text(encoding="utf-8")


def map_html(table: SongTable, title: str = "moodmap — mood map", trajectory: list[dict] | None = None) -> str:
    """A complete HTML page with the map, its data and its script inlined."""
    payload = json.dumps(map_data(table, trajectory), ensure_ascii=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ margin: 1.5em auto; max-width: 980px; padding: 0 1em; font: 14px/1.5 system-ui, sans-serif; color: #222; }}
{asset("mood-map.css")}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{len(table)} songs. Wheel to zoom, drag to pan, double-click to reset; hover a point for the song,
click it to copy its path.</p>
<div id="map"></div>
<script>
{asset("mood-map.js")}
</script>
<script>
var moodmapData = {payload};
window.moodmap = MoodMap.create(document.getElementById("map"), moodmapData);
</script>
</body>
</html>
"""


def song_trajectory(db_path: str | Path, table: SongTable, song: str | int) -> list[dict]:
    """One song's stored timeline as map points; a clear error when it was scanned without one."""
    from .index import open_library

    row = table.rows[table.find(song)]
    with open_library(db_path) as library:
        points = library.timeline(row["id"])
    if not points:
        raise MoodmapError(row["path"], "no timeline stored for this song; rescan with `moodmap scan --timeline`")
    return points


def write_map(table: SongTable, out: str | Path, trajectory: list[dict] | None = None,
              title: str | None = None) -> Path:
    """Write the map as ``.png`` (Pillow) or ``.html`` (interactive), chosen by the suffix."""
    out = Path(out)
    suffix = out.suffix.lower()
    require_songs(table)
    if suffix in (".html", ".htm"):
        atomic_write_text(out, map_html(table, title or "moodmap — mood map", trajectory))
    elif suffix == ".png":
        from .plane_png import library_map

        with atomic_path(out) as temp:
            library_map(table, temp, trajectory, title)
    else:
        raise MoodmapError(out, "the map is written as .png or .html")
    return out
