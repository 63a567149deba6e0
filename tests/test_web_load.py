"""The web server left running under load: concurrent good and bad uploads and map reads on
loopback for a fixed time — every request answered as it should be, memory flat."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from helpers import free_port, tone, write_audio, write_library_db
from loadgen import multipart, request, run_load, tree_rss, wait_until_up

pytest.importorskip("fastapi")
SECONDS = float(os.environ.get("MOODMAP_LOAD_SECONDS", "30"))  # `make stress` raises it


@pytest.mark.slow
def test_server_under_load_answers_everything_in_flat_memory(tmp_path):
    db = write_library_db(tmp_path, songs=3000)
    song = write_audio(tmp_path / "upload.mp3", tone(45.0, 22050, channels=2), 22050).read_bytes()
    uploads = {"good": multipart("song.mp3", song), "truncated": multipart("cut.mp3", song[: len(song) // 50]),
               "text": multipart("notes.mp3", b"not audio at all\n" * 200)}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moodmap.cli", "serve", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server)
        # Every analysis worker loads what each kind of upload needs before memory is measured: the model,
        # and PyAV (loaded on demand for files soundfile refuses, such as the truncated and the text uploads).
        # In rounds of one upload per kind: all at once would pass the server's queue (503, Retry-After).
        for _ in range(4):
            warm = [threading.Thread(target=request, args=(f"{url}/api/predict", *uploads[kind])) for kind in uploads]
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()
        request(f"{url}/api/map")
        memory_start = tree_rss(server.pid)
        results = run_load(url, uploads, uploaders=1, readers=2, seconds=SECONDS)
        memory_end = tree_rss(server.pid)
        assert server.poll() is None, "the server died under load"
    finally:
        server.terminate()
        server.wait(timeout=30)
    expected = {"good": 200, "truncated": 422, "text": 422, "map": 200, "songs": 200}
    for kind, status in expected.items():
        statuses = [s for s, _ in results[kind]]
        assert statuses and set(statuses) == {status}, f"{kind}: {sorted(set(statuses))} (expected {status})"
    p95 = float(np.percentile([t for _, t in results["good"]], 95))
    assert p95 < 10, f"predict p95 {p95:.1f} s"
    growth = (memory_end - memory_start) / 2**20
    assert growth < 0.1 * memory_start / 2**20 + 30, \
        f"memory grew {memory_start / 2**20:.0f} → {memory_end / 2**20:.0f} MiB while serving"
