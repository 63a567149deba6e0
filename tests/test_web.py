"""The HTTP API through FastAPI's TestClient: predictions, songs, playlists, audio, and bad input."""
import io
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from helpers import tone, write_audio, write_library_db  # noqa: E402
from moodmap.library.index import Library  # noqa: E402
from moodmap.web.app import ServerSettings, create_app  # noqa: E402


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    path = write_library_db(folder, songs=60, seed=5)
    library = Library(path)
    first = library.catalogue()[0]
    write_audio(Path(first["path"]).with_suffix(".wav"), tone(2.0, 16000), 16000)  # one playable file
    library.db.execute("UPDATE songs SET path = ? WHERE id = ?", (str(Path(first["path"]).with_suffix(".wav")),
                                                                  first["id"]))
    library.db.execute("UPDATE songs SET timeline = ? WHERE id = ?",
                       (json.dumps([{"start": 0.0, "valence": 0.4, "arousal": 0.5}]), first["id"]))
    library.db.commit()
    library.close()
    return path


@pytest.fixture(scope="module")
def client(db, exported):
    weights = exported[1]
    settings = ServerSettings(db=db, max_upload_bytes=2 * 2**20, default_model=str(exported[0]))
    with TestClient(create_app(settings), raise_server_exceptions=False, base_url="http://127.0.0.1") as test_client:
        test_client.weights = weights
        yield test_client


def wav_bytes(seconds=8.0, rate=16000):
    buffer = io.BytesIO()
    import soundfile as sf

    sf.write(buffer, tone(seconds, rate), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_health_lists_models_moods_and_songs(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["songs"] == 60
    assert "happy" in health["moods"] and "Q3" in health["moods"]
    assert any(m["name"] == "paper" for m in health["models"])


def test_predict_an_uploaded_wav(client, tmp_path):
    from moodmap.inference.registry import resolve
    from moodmap.inference.predict import predict_file
    from moodmap.research.presets import DEFAULT_MODEL

    upload = tmp_path / "song.wav"
    upload.write_bytes(wav_bytes(seconds=20.0))  # timeline windows at 0, 2 and 4 s
    response = client.post("/api/predict", files={"file": ("song.wav", upload.read_bytes(), "audio/wav")},
                           data={"model": DEFAULT_MODEL, "timeline": "true", "hop": "2"})
    assert response.status_code == 200, response.text
    body = response.json()
    # what this process predicts for the same file with the same (shipped) model
    expected = predict_file(upload, resolve(DEFAULT_MODEL).predictor, DEFAULT_MODEL, timeline=True, hop=2.0)
    assert (body["valence"], body["arousal"]) == pytest.approx((expected.valence, expected.arousal), abs=1e-4)
    assert (body["quadrant"], body["emotion"], body["model"]) == (expected.quadrant, expected.emotion, DEFAULT_MODEL)
    assert [p["start"] for p in body["timeline"]] == [p.start for p in expected.timeline] == [0.0, 2.0, 4.0]
    assert [v for p in body["timeline"] for v in (p["valence"], p["arousal"])] == pytest.approx(
        [v for p in expected.timeline for v in (p.valence, p.arousal)], abs=1e-4)
    assert body["filename"] == "song.wav" and body["path"] is None


@pytest.mark.parametrize("name, content, status", [
    ("empty.mp3", b"", 422),
    ("notes.mp3", b"this is a text file, renamed\n" * 40, 422),
    ("cut.mp3", None, 422),
])
def test_bad_uploads_are_4xx_json(client, tmp_path, name, content, status):
    if content is None:  # a truncated mp3: the first 600 bytes of a real one
        full = write_audio(tmp_path / "full.mp3", tone(8.0, 16000), 16000)
        content = full.read_bytes()[:600]
    response = client.post("/api/predict", files={"file": (name, content, "audio/mpeg")})
    assert response.status_code == status, response.text
    assert response.json()["detail"] and "Traceback" not in response.text


def test_uploads_over_the_limit_are_refused(client):
    big = os.urandom(3 * 2**20)
    response = client.post("/api/predict", files={"file": ("big.wav", big, "audio/wav")})
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_a_huge_declared_size_is_refused_before_reading(client):
    response = client.post("/api/predict", content=b"x" * 10,
                           headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(10**12)})
    assert response.status_code == 413


def test_uploads_leave_no_files_behind(client):
    client.post("/api/predict", files={"file": ("song.wav", wav_bytes(), "audio/wav")})
    client.post("/api/predict", files={"file": ("bad.mp3", b"nope" * 100, "audio/mpeg")})
    assert [p.name for p in client.app.state.uploads.iterdir()] == [".moodmap-owner"]  # the folder's mark alone


def test_songs_filter_and_paginate(client):
    everything = client.get("/api/songs", params={"limit": 1000}).json()
    assert everything["total"] == 60
    calm = client.get("/api/songs", params={"mood": "calm", "limit": 1000}).json()
    assert calm["total"] > 0 and all(s["emotion"] == "calm" for s in calm["songs"])
    q2 = client.get("/api/songs", params={"quadrant": "Q2", "limit": 3, "offset": 1}).json()
    assert len(q2["songs"]) <= 3 and all(s["quadrant"] == "Q2" for s in q2["songs"])
    found = client.get("/api/songs", params={"q": "chanson 7"}).json()
    assert found["total"] >= 1 and all("7" in s["title"] for s in found["songs"])
    assert client.get("/api/songs", params={"quadrant": "Q9"}).status_code == 422


def test_one_song_with_timeline_and_unknown_ids(client):
    first = client.get("/api/songs", params={"limit": 1}).json()["songs"][0]
    song = client.get(f"/api/songs/{first['id']}").json()
    assert song["path"] == first["path"] and song["timeline"][0]["valence"] == 0.4
    assert client.get("/api/songs/99999").status_code == 404
    assert client.get("/api/songs/abc").status_code == 422
    assert client.get("/api/songs/99999/audio").status_code == 404


def test_audio_is_served_with_range_requests(client):
    first = client.get("/api/songs", params={"limit": 1}).json()["songs"][0]
    whole = client.get(f"/api/songs/{first['id']}/audio")
    assert whole.status_code == 200 and whole.content[:4] == b"RIFF"
    part = client.get(f"/api/songs/{first['id']}/audio", headers={"Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == whole.content[4:12]


def test_no_request_reads_outside_the_library(client, db, tmp_path):
    secret = tmp_path / "secret.wav"
    secret.write_bytes(wav_bytes(1.0))
    library = Library(db)
    original = library.db.execute("SELECT path FROM songs WHERE id = 2").fetchone()[0]
    with library.db:
        library.db.execute("UPDATE songs SET path = ? WHERE id = 2", (str(secret),))
    library.close()
    try:
        assert client.get("/api/songs/2/audio").status_code == 404  # indexed, but outside the library folder
    finally:
        library = Library(db)
        with library.db:
            library.db.execute("UPDATE songs SET path = ? WHERE id = 2", (original,))
        library.close()
    for attempt in ("/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/%2e%2e/library.py",
                    "/api/songs/..%2f..%2fetc%2fpasswd/audio"):
        response = client.get(attempt)
        assert response.status_code in (400, 404, 422) and "import" not in response.text


def test_playlists_as_json_and_m3u8(client):
    response = client.post("/api/playlists", json={"mood": "happy", "n": 5})
    assert response.status_code == 200
    songs = response.json()["songs"]
    assert 0 < len(songs) <= 5 and all(s["emotion"] == "happy" for s in songs)
    ids = client.get("/api/songs", params={"limit": 2}).json()["songs"]
    path = client.post("/api/playlists", json={"from": str(ids[0]["id"]), "to": str(ids[1]["id"]), "steps": 4,
                                               "format": "m3u8"})
    assert path.status_code == 200 and path.text.startswith("#EXTM3U")
    assert path.headers["content-type"].startswith("audio/x-mpegurl")


def test_an_m3u8_from_the_api_plays_from_another_device(client):
    """URLs of this server's audio, as the client reached it — never the server's disk paths — and
    every one of them plays."""
    listing = client.get("/api/playlists", params={"mood": "happy", "n": 3, "format": "m3u8"})
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("audio/x-mpegurl")
    entries = [line for line in listing.text.splitlines() if line and not line.startswith("#")]
    base = str(client.base_url)  # the Host the client used: the server's loopback name here
    assert entries and all(e.startswith(f"{base}/api/songs/") and e.endswith("/audio") for e in entries)
    assert "/tmp" not in listing.text and ".flac" not in "".join(entries)
    for entry in entries:
        audio = client.get(entry.removeprefix(base))
        assert audio.status_code == 200 and audio.headers["content-type"].startswith("audio/")
    posted = client.post("/api/playlists", json={"mood": "happy", "n": 3, "format": "m3u8"})
    assert posted.text == listing.text
    ids = [s["id"] for s in client.get("/api/songs", params={"limit": 2}).json()["songs"]]
    walk = client.get("/api/playlists", params={"from": ids[0], "to": ids[1], "steps": 3, "format": "m3u8"})
    assert walk.status_code == 200 and walk.text.count(f"{base}/api/songs/") == 3


@pytest.mark.parametrize("body, status", [
    ({"mood": "grumpy"}, 400),
    ({"near": "no such song at all"}, 400),
    ({"mood": "happy", "arousal": "rise"}, 400),
    ({"n": 0, "mood": "happy"}, 422),
    ({"mood": "happy", "unknown": 1}, 422),
])
def test_bad_playlist_requests_are_4xx_json(client, body, status):
    response = client.post("/api/playlists", json=body)
    assert response.status_code == status and response.json()["detail"]


def test_page_map_and_docs(client):
    page = client.get("/")
    assert page.status_code == 200 and "mood-map.js" in page.text and "id=\"drop\"" in page.text
    data = client.get("/api/map").json()
    assert len(data["songs"]) == 60 and len(data["emotions"]) == 8
    assert client.get("/docs").status_code == 200
    assert "/api/predict" in client.get("/openapi.json").json()["paths"]
    assert client.get("/static/mood-map.js").status_code == 200


def test_the_index_is_reloaded_when_a_scan_adds_songs(client, db):
    before = client.get("/api/health").json()["songs"]
    library = Library(db)
    row = dict(library.db.execute("SELECT * FROM songs LIMIT 1").fetchone())
    row.pop("id")
    row["path"] = row["path"] + ".copy.flac"
    library.save(row)
    library.close()
    try:
        assert client.get("/api/health").json()["songs"] == before + 1
    finally:
        library = Library(db)
        library.prune([row["path"]])
        library.close()


def test_concurrent_predictions_do_not_block_the_server(client):
    import concurrent.futures
    import time

    payload = wav_bytes(20.0)

    def upload():
        return client.post("/api/predict", files={"file": ("s.wav", payload, "audio/wav")}).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(upload) for _ in range(4)]
        time.sleep(0.05)
        began = time.perf_counter()
        assert client.get("/api/health").status_code == 200
        health_seconds = time.perf_counter() - began
        assert [f.result() for f in futures] == [200] * 4
    assert health_seconds < 5.0, health_seconds  # not queued behind four analyses


def test_a_request_cannot_load_a_model_file_from_the_server(client, tmp_path):
    response = client.post("/api/predict", files={"file": ("song.wav", wav_bytes(), "audio/wav")},
                           data={"model": "/etc/passwd"})
    assert response.status_code == 400 and "unknown model" in response.json()["detail"]


def test_a_worker_crash_is_reported_as_in_a_scan_and_the_pool_recovers():
    import asyncio

    from moodmap.core.errors import WorkerCrashed
    from moodmap.web.app import AnalysisPool

    pool = AnalysisPool(1)
    try:
        with pytest.raises(WorkerCrashed, match="stopped its worker process"):  # answered 422 {"error": "WorkerCrashed"}
            asyncio.run(pool.run(os._exit, 3))
        assert asyncio.run(pool.run(abs, -4)) == 4
    finally:
        pool.close()


def test_the_running_server_owns_its_workers_and_upload_folder(db, tmp_path, monkeypatch):
    """Building an app starts no process and makes no folder; starting it makes both (and says
    so once, through on_ready); stopping it ends the workers and removes the folder, uploads and all."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ready = []
    app = create_app(ServerSettings(db=db, inference_workers=1), on_ready=lambda: ready.append(True))
    assert list(tmp_path.iterdir()) == [] and not hasattr(app.state, "analyses") and ready == []
    with TestClient(app, base_url="http://127.0.0.1"):
        folder = app.state.uploads
        workers = list(app.state.analyses.pool._processes.values())
        assert folder.parent == tmp_path and folder.is_dir() and ready == [True]
        assert workers and all(w.is_alive() for w in workers)
        (folder / "an-upload.wav").write_bytes(b"RIFF")
    assert list(tmp_path.iterdir()) == []
    assert not any(w.is_alive() for w in workers)
