"""The map as a playlist editor in headless Chromium, as a user works it: draw a region on the mood map,
narrow it to one artist, listen to a song, save the playlist into the folder `moodmap serve --playlists`
was given — the file holds exactly the songs the page listed — and a real MPD on loopback loads it.

The library is conftest's `tagged` (twelve real songs, scanned), the MPD its `mpd`; the xdist group keeps
this test on their worker. The playlists folder is inside MPD's music folder, where MPD reads M3U8 files
(its playlist_directory holds only its own .m3u). With MOODMAP_SCREENSHOTS=1 the test also writes
docs/library/map-editor.png, the screenshot in docs/library/map-editor.md.
"""
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import free_port
from test_browser import CHROMIUM, DRIVER, browser  # noqa: F401  (browser: the fixture, reused)

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian chromium and chromium-driver"),
              pytest.mark.xdist_group("mpd")]
PAD = 40  # mood-map.js's margin around the plane, in CSS pixels
DOCS = Path(__file__).resolve().parents[1] / "docs"


@contextlib.contextmanager
def serving(args: list[str], log_path: Path):
    """`moodmap serve ARGS` on a free port: its URL until the block ends."""
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "moodmap.cli", "serve", "--port", str(port), *args],
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/api/health", timeout=1)
                    break
                except OSError:
                    assert process.poll() is None, log_path.read_text()
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def editor(tagged, tmp_path):
    """The server over `tagged`, saving into a fresh folder inside its music folder: (url, folder)."""
    folder = tagged / "music" / "Saved playlists"
    folder.mkdir()
    try:
        with serving(["--db", str(tagged / "lib.sqlite"), "--playlists", str(folder), "--workers", "1"],
                     tmp_path / "server.log") as url:
            yield url, folder
    finally:
        shutil.rmtree(folder)


def indexed(tagged: Path) -> dict[int, dict]:
    with sqlite3.connect(tagged / "lib.sqlite") as connection:
        connection.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in connection.execute("SELECT id, path, artist, valence, arousal FROM songs")}


def left_part(songs: dict[int, dict]) -> tuple[float, set[int]]:
    """A valence that cuts the library in two at its widest gap among the middle songs, and the songs left of it."""
    values = sorted(round(s["valence"], 3) for s in songs.values())
    gap, cut = max((values[i + 1] - values[i], (values[i] + values[i + 1]) / 2) for i in range(3, len(values) - 4))
    assert gap > 0.01, values  # wide enough for a mouse to draw the edge in
    return cut, {i for i, s in songs.items() if round(s["valence"], 3) < cut}


def at(canvas, valence: float, arousal: float) -> tuple[int, int]:
    """Where a point of the plane is drawn (the map unzoomed), as Selenium 4's offset from the canvas's centre."""
    width, height = canvas.size["width"], canvas.size["height"]
    return (round(PAD + valence * (width - 2 * PAD) - width / 2),
            round(height - PAD - arousal * (height - 2 * PAD) - height / 2))


def drag_region(browser, canvas, corner, other) -> None:
    """Press at one plane point (valence, arousal), drag to the other, release: mood-map.js's rectangle."""
    start, end = at(canvas, *corner), at(canvas, *other)
    actions = ActionChains(browser)
    actions.move_to_element_with_offset(canvas, *start).click_and_hold()
    for k in range(1, 6):
        actions.move_by_offset((end[0] - start[0]) // 5 if k < 5 else end[0] - start[0] - 4 * ((end[0] - start[0]) // 5),
                               (end[1] - start[1]) // 5 if k < 5 else end[1] - start[1] - 4 * ((end[1] - start[1]) // 5))
    actions.release().perform()


def listed(browser) -> list[int]:
    return [int(item.get_attribute("data-id")) for item in browser.find_elements(By.CSS_SELECTOR, "#playlist-songs li")]


def test_a_region_drawn_narrowed_and_saved_is_the_playlist_mpd_loads(editor, browser, tagged, mpd):
    url, folder = editor
    songs = indexed(tagged)
    wait = WebDriverWait(browser, 60)
    browser.get(url)
    canvas = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#map canvas"))
    wait.until(lambda d: canvas.get_attribute("data-drawn") == str(len(songs)))

    cut, left = left_part(songs)
    browser.find_element(By.ID, "tool-region").click()
    drag_region(browser, canvas, (0.0, 1.0), (cut, 0.0))
    wait.until(lambda d: "match" in d.find_element(By.ID, "playlist-count").text)
    assert set(listed(browser)) == left and len(listed(browser)) == len(left)  # the region's songs, all of them
    assert browser.find_element(By.ID, "playlist-count").text == f"{len(left)} songs match"

    artist = songs[listed(browser)[0]]["artist"]  # narrowed to one artist of the region
    browser.find_element(By.ID, "f-artist").send_keys(artist)
    mine = {i for i in left if songs[i]["artist"] == artist}
    wait.until(lambda d: set(listed(d)) == mine)
    shown = listed(browser)

    browser.find_element(By.CSS_SELECTOR, "#playlist-songs li .play").click()  # play one
    player = browser.find_element(By.ID, "player")
    assert player.get_attribute("src").endswith(f"/api/songs/{shown[0]}/audio")
    wait.until(lambda d: d.execute_script("return arguments[0].readyState", player) >= 1)  # its audio arrived

    name = browser.find_element(By.ID, "save-name")
    name.clear()
    name.send_keys("Evening ñ")
    browser.find_element(By.ID, "save").click()
    status = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#save-status.saved"))
    assert status.text == f"Saved Evening ñ.m3u8 in {folder.name} ({len(shown)} song{'s' * (len(shown) != 1)})"

    saved = folder / "Evening ñ.m3u8"
    entries = [line for line in saved.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert [str((folder / e).resolve()) for e in entries] == [str(Path(songs[i]["path"]).resolve()) for i in shown]
    assert not any(Path(e).is_absolute() for e in entries)

    assert mpd("clear").returncode == 0
    loading = mpd("load", f"{folder.name}/{saved.name}")
    assert loading.returncode == 0, loading.stderr
    music = (tagged / "music").resolve()
    assert mpd("-f", "%file%", "playlist").stdout.splitlines() == \
        [str(Path(songs[i]["path"]).resolve().relative_to(music)) for i in shown]

    if os.environ.get("MOODMAP_SCREENSHOTS") == "1":  # docs/library/map-editor.png: made here, committed once
        browser.set_window_size(1400, 1160)
        browser.save_screenshot(str(DOCS / "map-editor.png"))
    start, end = min(songs, key=lambda i: songs[i]["valence"]), max(songs, key=lambda i: songs[i]["valence"])
    browser.find_element(By.ID, "tool-path").click()  # a path: two clicks on the map
    browser.find_element(By.ID, "f-artist").clear()
    for song in (start, end):
        ActionChains(browser).move_to_element_with_offset(canvas, *at(canvas, songs[song]["valence"],
                                                                      songs[song]["arousal"])).click().perform()
    wait.until(lambda d: "→" in d.find_element(By.ID, "playlist-title").text)
    path = listed(browser)
    assert path[0] == start and path[-1] == end and len(path) >= 3
    assert not browser.find_element(By.ID, "download-nsp").is_enabled()  # rules cannot say a path
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]  # a CSP violation is one
    assert not errors, errors
