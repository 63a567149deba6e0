"""`moodmap serve` on a laptop that also browses the web: a real server on loopback, requests as a
hostile page (or a DNS-rebound name) would send them."""
from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from test_user_commands import moodmap, start_server, stop_server
from userlib import make_user_library

CLIENT_TIMEOUT = 2.5  # serve --client-timeout: the stall tests wait this long, not the default 10 s


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server over a small library holding a trap: `poly.mp3`, a real mp3 that is a link to `poly.html`."""
    home = tmp_path_factory.mktemp("secure")
    songs = make_user_library(home / "Music")
    mp3 = next(p for p in songs if p.suffix == ".mp3")
    shutil.copy(mp3, home / "Music" / "poly.html")
    (home / "Music" / "poly.mp3").symlink_to(home / "Music" / "poly.html")
    moodmap("scan", "Music", "--db", "library.sqlite", cwd=home)
    process, base, _ = start_server("--db", "library.sqlite", "--client-timeout", str(CLIENT_TIMEOUT), cwd=home)
    yield base, home
    stop_server(process)


def request(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
    """(status, headers, body) of one request, whatever its status."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers or {}, method=method), timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_a_foreign_host_is_refused_a_known_one_answered(server):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    for path in ("/api/songs?limit=1", "/api/songs/1/audio", "/"):
        status, _, body = request(base + path, headers={"Host": f"evil.example:{port}"})
        assert status == 403 and json.loads(body)["error"] == "ForbiddenHost" and b"evil" not in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert request(base + "/api/songs?limit=1", headers={"Host": host})[0] == 200


def _upload(path: Path) -> tuple[bytes, str]:
    boundary = "moodmapboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n\r\n".encode()
            + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def test_costly_requests_from_another_origin_are_refused(server):
    base, home = server
    body, kind = _upload(next((home / "Music").rglob("*.flac")))
    small = body[:200] + body[-40:]  # refused before the body is read: keep it within the socket's buffer
    for hostile in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        status, _, answer = request(base + "/api/predict", small, {"Content-Type": kind, **hostile})
        assert status == 403 and json.loads(answer)["error"] == "ForbiddenOrigin", hostile
    status, _, answer = request(base + "/api/predict", body, {"Content-Type": kind, "Origin": base,
                                                               "Sec-Fetch-Site": "same-origin"})
    assert status == 200 and 0.1 <= json.loads(answer)["valence"] <= 0.9


def test_every_body_is_limited_and_never_echoed(server):
    base, _ = server
    for kind in ("application/json", "text/plain"):  # 2 MB announced: refused before the body is read
        status, answer = raw_request(base, f"POST /api/playlists HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
                                           "Content-Length: 2000000\r\n\r\n" + '{"mood": "happy", "pad": "' + "x" * 1000)
        assert status == 413 and len(answer) < 1000 and json.loads(answer)["error"] == "PayloadTooLarge"
    junk = json.dumps({"mood": "happy", "junk": "<script>" * 1000}).encode()
    status, _, answer = request(base + "/api/playlists", junk, {"Content-Type": "application/json"})
    assert status == 422 and len(answer) < 2000 and b"<script>" not in answer


def raw_request(base: str, text: str) -> tuple[int, bytes]:
    """Send ``text`` as it is on a fresh connection; the status and body of the answer."""
    import socket

    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(text.encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
            if length and len(body) >= length[0]:
                break
    return int(head.split(b" ")[1]), body


def test_audio_is_served_as_audio_never_as_a_page(server):
    base, home = server
    songs = json.loads(request(base + "/api/songs?q=poly")[2])["songs"]
    assert [s["path"] for s in songs] == [str(home / "Music" / "poly.mp3")]
    status, headers, _ = request(f"{base}/api/songs/{songs[0]['id']}/audio")
    assert status == 200 and headers["Content-Type"] == "audio/mpeg"
    assert headers["X-Content-Type-Options"] == "nosniff" and "inline" in headers["Content-Disposition"]
    page = request(base + "/")[1]
    assert "script-src 'self'" in page["Content-Security-Policy"] and page["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("payload", [{"mood": "happy", "min_distance": float("nan")},
                                     {"mood": "happy", "min_distance": float("inf")},
                                     {"mood": "happy", "seed": -1}, {"mood": "happy", "seed": 1e400},
                                     {"mood": "happy", "n": "many"}])
def test_odd_numbers_are_422_in_the_one_error_shape(server, payload):
    base, _ = server
    body = json.dumps(payload).replace("Infinity", "1e400").encode()
    status, _, answer = request(base + "/api/playlists", body, {"Content-Type": "application/json"})
    assert status == 422 and set(json.loads(answer)) == {"error", "detail"}, answer


def test_unknown_routes_and_methods_answer_in_the_one_error_shape(server):
    base, _ = server
    for url, method in ((base + "/api/nothing", "GET"), (base + "/api/map", "DELETE")):
        status, _, answer = request(url, method=method)
        assert status in (404, 405) and set(json.loads(answer)) == {"error", "detail"}


def test_a_timeline_beyond_the_budget_is_refused_before_any_work(server, tmp_path):
    import numpy as np
    import soundfile as sf

    base, _ = server
    long = tmp_path / "dc.flac"  # three hours of 8 kHz DC: a few hundred KB, 21 000 windows at a 0.51 s hop
    with sf.SoundFile(long, "w", 8000, 1, format="FLAC") as out:
        block = np.full(8000 * 60, 0.5, dtype=np.float32)
        for _ in range(180):
            out.write(block)
    body, kind = _upload(long)
    fields = (b"--moodmapboundary\r\nContent-Disposition: form-data; name=\"timeline\"\r\n\r\ntrue\r\n"
              b"--moodmapboundary\r\nContent-Disposition: form-data; name=\"hop\"\r\n\r\n0.51\r\n")
    import time

    began = time.monotonic()
    status, _, answer = request(base + "/api/predict", fields + body, {"Content-Type": kind})
    assert status == 413 and "windows" in json.loads(answer)["detail"] and time.monotonic() - began < 10


def test_a_stalled_body_is_cut_off(server):
    import socket
    import time

    base, _ = server
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=CLIENT_TIMEOUT + 20) as connection:
        connection.sendall(b"POST /api/playlists HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100\r\n\r\n{\"mo")
        began = time.monotonic()
        answer = connection.recv(1000)  # the status line: the moment it came is the deadline
        waited = time.monotonic() - began
        while piece := connection.recv(4096):  # the rest, up to the close
            answer += piece
    assert b" 408 " in answer.split(b"\r\n")[0] and CLIENT_TIMEOUT - 0.5 < waited < CLIENT_TIMEOUT + 5, waited
    assert f"stalled for {CLIENT_TIMEOUT:g} s".encode() in answer


def test_a_client_dribbling_its_headers_is_cut_off(server):
    import socket
    import time

    base, _ = server
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=CLIENT_TIMEOUT + 20) as connection:
        began = time.monotonic()
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        assert connection.recv(100) == b""  # closed by the server …
    assert CLIENT_TIMEOUT - 0.5 < time.monotonic() - began < CLIENT_TIMEOUT + 5  # … at its deadline
    assert json.loads(request(base + "/api/health")[2])["status"] == "ok"  # and it still serves others


def test_the_work_of_a_client_that_left_is_cancelled(tmp_path):
    """One worker, a client that asks for a 1 500-window timeline (~20 s of work) and leaves after
    2 s: the next upload is answered at once, not after the abandoned analysis."""
    import socket
    import time

    import numpy as np
    import soundfile as sf

    long = tmp_path / "mix.flac"  # 30 min of a quiet sine: small as FLAC, a full timeline's work
    with sf.SoundFile(long, "w", 8000, 1, format="FLAC") as out:
        block = (0.2 * np.sin(np.arange(8000 * 60) * np.pi / 20)).astype(np.float32)
        for _ in range(30):
            out.write(block)
    small = next(p for p in make_user_library(tmp_path / "Music") if p.suffix == ".flac")
    process, base, _ = start_server("--workers", "1", cwd=tmp_path)
    try:
        body, kind = _upload(long)
        fields = (b"--moodmapboundary\r\nContent-Disposition: form-data; name=\"timeline\"\r\n\r\ntrue\r\n"
                  b"--moodmapboundary\r\nContent-Disposition: form-data; name=\"hop\"\r\n\r\n1.25\r\n")
        host, port = base.rsplit("/", 1)[1].split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
                               f"Content-Length: {len(fields + body)}\r\n\r\n".encode() + fields + body)
            time.sleep(2)  # the analysis is under way; then the client goes
        began = time.monotonic()
        status, _, answer = request(base + "/api/predict", *_upload(small)[:1], {"Content-Type": kind})
        assert status == 200 and 0.1 <= json.loads(answer)["valence"] <= 0.9
        assert time.monotonic() - began < 8, "the next upload waited for the abandoned analysis"
    finally:
        stop_server(process)


def test_a_head_is_cut_off_at_its_deadline_while_others_are_answered(server):
    """One client polling /api/health used to turn every other connection's head deadline off (it
    compared the server-wide request count): 200 dribbling sockets stayed open."""
    import socket
    import time

    base, _ = server
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=CLIENT_TIMEOUT + 20) as dribbler:
        dribbler.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        dribbler.setblocking(False)
        began, closed = time.monotonic(), False
        while not closed and time.monotonic() - began < CLIENT_TIMEOUT + 5:
            assert request(base + "/api/health")[0] == 200
            try:
                closed = dribbler.recv(100) == b""
            except BlockingIOError:
                time.sleep(0.1)
        assert closed and CLIENT_TIMEOUT - 0.5 < time.monotonic() - began < CLIENT_TIMEOUT + 3


def test_a_body_dribbled_under_the_pause_limit_is_cut_off_at_its_total_time(server):
    """A byte every 1.5 s never pauses 2.5 s, but the 100-byte body may take 2.5 s + 1 s per 64 KB."""
    import socket
    import time

    base, _ = server
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=CLIENT_TIMEOUT + 20) as connection:
        connection.sendall(b"POST /api/playlists HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100\r\n\r\n")
        began, answer = time.monotonic(), b""
        connection.setblocking(False)
        while not answer.endswith(b"}") and time.monotonic() - began < 30:
            try:
                piece = connection.recv(4096)
                if not piece:
                    break
                answer += piece
            except BlockingIOError:
                try:
                    connection.sendall(b" ")
                except OSError:
                    break
                time.sleep(1.5)
        waited = time.monotonic() - began
    assert b" 408 " in answer.split(b"\r\n")[0] and waited < CLIENT_TIMEOUT + 3, (waited, answer[:200])
    assert b"came too slowly" in answer
