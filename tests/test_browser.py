"""The web app in a real browser: headless Chromium (Debian's chromium + chromium-driver) via Selenium.

`make test` installs both packages when missing; without them this test is skipped with the reason.
"""
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from helpers import free_port, tone, write_audio, write_library_db

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian chromium and chromium-driver")


@pytest.fixture
def server(tmp_path, exported):
    db = write_library_db(tmp_path / "lib", songs=60, seed=9)
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "moodmap.cli", "serve", "--db", str(db), "--port", str(port),
                                "--model", str(exported[0])], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/health", timeout=1)
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def test_map_renders_the_library_and_a_dropped_file_is_analysed(server, browser, tmp_path):
    wait = WebDriverWait(browser, 60)
    browser.get(server)
    canvas = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#map canvas"))
    wait.until(lambda d: canvas.get_attribute("data-drawn") == "60")
    assert "60 songs" in browser.find_element(By.ID, "library-status").text

    song = write_audio(tmp_path / "upload.wav", tone(10.0, 16000), 16000)
    browser.find_element(By.ID, "file").send_keys(str(song))
    result = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#prediction.result"))
    assert "upload.wav: valence" in result.text and "arousal" in result.text

    browser.find_element(By.ID, "mood-go").click()
    items = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#playlist-songs li"))
    assert browser.find_element(By.ID, "download-m3u8").is_displayed()  # a server without --playlists: no saving
    assert not browser.find_element(By.ID, "save-form").is_displayed()
    assert "--playlists" in browser.find_element(By.ID, "save-off").text
    items[0].click()
    wait.until(lambda d: d.find_element(By.ID, "details").is_displayed())
    assert browser.find_element(By.ID, "song-title").text == items[0].text

    browser.find_element(By.ID, "set-from").click()  # a mood path from that song to the last one listed
    first, last = items[0].text, items[-1].text
    items[-1].click()
    wait.until(lambda d: d.find_element(By.ID, "song-title").text == last)
    browser.find_element(By.ID, "set-to").click()
    browser.find_element(By.ID, "draw-path").click()
    wait.until(lambda d: "→" in d.find_element(By.ID, "playlist-title").text)
    steps = browser.find_elements(By.CSS_SELECTOR, "#playlist-songs li")
    assert steps[0].text == first and steps[-1].text == last and len(steps) >= 2  # the list now holds the path

    shot = tmp_path / "moodmap-page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_api_docs_render_with_the_network_off(server, tmp_path):
    """Swagger UI's scripts come from the package: with every name but loopback unresolvable
    (no CDN reachable), /docs still draws the API."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'offline-profile'}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    try:
        driver.get(f"{server}/docs")
        title = WebDriverWait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title"))
        assert "moodmap" in title.text
        operations = driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        assert any("/api/playlists" in o.text for o in operations)
        page = driver.page_source
        assert "cdn.jsdelivr.net" not in page and "/docs-assets/swagger-ui-bundle.js" in page
    finally:
        driver.quit()
