"""`moodmap serve` against crafted uploads and requests (issue 31): a real server on loopback, files
made here. A container that states no length, an Ogg whose last page lies about its length, an
Origin on another local port, input that once gave a 500, a SIGTERM with a request in flight; a
flood of connections under a small open-file limit, a full analysis queue, costly GETs from another
origin, input that came back whole in errors, a server killed with an upload in flight, Range and
HEAD requests, and the address printed for an IPv6 host."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")

from loadgen import tree_rss  # noqa: E402
from test_user_commands import MOODMAP, moodmap, start_server, stop_server  # noqa: E402
from test_web_security import _upload, raw_request, request  # noqa: E402
from userlib import make_user_library  # noqa: E402

MB = 2**20


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One worker over a small library, so the worker's memory is the one analysis's."""
    home = tmp_path_factory.mktemp("attacks")
    make_user_library(home / "Music", seconds=16.0)
    moodmap("scan", "Music", "--db", "library.sqlite", cwd=home)
    process, base, _ = start_server("--db", "library.sqlite", "--workers", "1", cwd=home)
    yield process, base, home
    stop_server(process)


def form(path: Path, timeline: bool, hop: float = 5.0) -> tuple[bytes, dict]:
    fields = (f"--moodmapboundary\r\nContent-Disposition: form-data; name=\"timeline\"\r\n\r\n{str(timeline).lower()}"
              f"\r\n--moodmapboundary\r\nContent-Disposition: form-data; name=\"hop\"\r\n\r\n{hop}\r\n").encode()
    body, kind = _upload(path)
    return fields + body, {"Content-Type": kind}


def matroska(path: Path, codec: str, rate: int, seconds: float, stated: bool = False) -> Path:
    """DC in Matroska (FLAC or Opus), unless ``stated`` its Segment Duration overwritten with a Void
    element: the container then states no length (PyAV offers no option to leave it out)."""
    import av

    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        size, kind = (4096, "s16") if codec == "flac" else (960, "flt")
        data = np.full((1, size), 16000 if kind == "s16" else 0.5, dtype=np.int16 if kind == "s16" else np.float32)
        for i in range(int(seconds * rate / size)):
            frame = av.AudioFrame.from_ndarray(data, format=kind, layout="mono")
            frame.sample_rate, frame.pts = rate, i * size
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    if stated:
        return path
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Duration, an 8-byte float: 11 bytes, as a Void of 9 bytes' content
    assert at > 0
    data[at:at + 11] = b"\xec\x89" + bytes(9)
    path.write_bytes(bytes(data))
    return path


def peak_rss_during(pid: int, work) -> tuple[object, int]:
    """``work()``'s result, and the most the server's process tree held meanwhile."""
    peak, done = 0, threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        return work(), peak
    finally:
        done.set()
        watcher.join()


@pytest.mark.parametrize("timeline", [False, True], ids=["song", "timeline"])  # song first: on a fresh worker
def test_a_file_stating_no_length_is_counted_not_held_in_memory(server, tmp_path, timeline):
    """Three minutes of 192 kHz DC in 40 KB of Matroska/FLAC with no Segment Duration: decoding it whole
    took ~260 MB (the server's probe, then the worker's); counted frame by frame, and the excerpts' span
    streamed, the server and its worker hold at most 64 MB more than for an ordinary file."""
    process, base, _ = server
    url = base + "/api/predict"
    bomb = matroska(tmp_path / "bomb.mkv", "flac", 192000, 180)
    # 90 s at 16 kHz that says so: PyAV loaded, the model's buffers sized for full batches of windows
    ordinary = matroska(tmp_path / "ordinary.mkv", "flac", 16000, 90, stated=True)
    (status, _, _), usual = peak_rss_during(process.pid, lambda: request(url, *form(ordinary, timeline)))
    assert status == 200
    (status, _, answer), peak = peak_rss_during(process.pid, lambda: request(url, *form(bomb, timeline)))
    assert status == 200, answer
    assert bool(json.loads(answer)["timeline"]) == timeline
    assert peak - usual < 64 * MB, f"{(peak - usual) / MB:.0f} MB more than an ordinary file's analysis took"


def ogg_page_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, starting at 0)."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def lying_ogg(path: Path, rate: int, minutes: int, claimed: float) -> Path:
    """Ogg Vorbis holding ``minutes`` of a quiet sine whose last page's granule position says ``claimed`` s."""
    with sf.SoundFile(path, "w", rate, 1, format="OGG", subtype="VORBIS") as out:
        block = (0.2 * np.sin(np.arange(rate * 60) * np.pi / 20)).astype(np.float32)
        for _ in range(minutes):
            out.write(block)
    data = bytearray(path.read_bytes())
    last = data.rfind(b"OggS")
    data[last + 6:last + 14] = int(claimed * rate).to_bytes(8, "little")
    data[last + 22:last + 26] = bytes(4)
    data[last + 22:last + 26] = ogg_page_crc(bytes(data[last:])).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert sf.info(str(path)).duration == claimed
    return path


def test_a_timeline_stops_at_its_budget_whatever_the_header_says(server, tmp_path):
    """16 minutes said to be 60 s: at a 0.51 s hop the budget is 1 500 windows (~780 s), so decoding
    stops there with a 413 within seconds, instead of 1 880 windows of work."""
    _, base, _ = server
    liar = lying_ogg(tmp_path / "liar.ogg", 8000, 16, 60.0)
    began = time.monotonic()
    status, _, answer = request(base + "/api/predict", *form(liar, True, 0.51))
    assert (status, json.loads(answer)["error"]) == (413, "TooLongError"), answer
    assert time.monotonic() - began < 15


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{other}", "http://localhost:{other}", "http://127.0.0.1",
                                    "ftp://127.0.0.1:{port}", "http://127.0.0.1:99999"])
def test_an_origin_on_another_port_is_another_origin(server, origin):
    """Another local app or dev server (127.0.0.1:3000) is not moodmap's page."""
    _, base, _ = server
    port = int(base.rsplit(":", 1)[1])
    body = json.dumps({"mood": "calm"}).encode()
    headers = {"Content-Type": "application/json", "Origin": origin.format(port=port, other=port + 1)}
    status, _, answer = request(base + "/api/playlists", body, headers)
    assert (status, json.loads(answer)["error"]) == (403, "ForbiddenOrigin")


def test_same_site_is_foreign_same_origin_goes_through(server):
    """Chromium says ``same-site`` for another port of 127.0.0.1."""
    _, base, _ = server
    body, kind = json.dumps({"mood": "calm"}).encode(), {"Content-Type": "application/json"}
    assert request(base + "/api/playlists", body, {**kind, "Sec-Fetch-Site": "same-site"})[0] == 403
    for own in ({"Origin": base, "Sec-Fetch-Site": "same-origin"}, {"Origin": base.replace("127.0.0.1", "localhost")},
                {"Sec-Fetch-Site": "none"}):
        assert request(base + "/api/playlists", body, {**kind, **own})[0] != 403, own


@pytest.mark.parametrize("payload", [{"near": "²"}, {"near": "9" * 5000}, {"from": "9" * 5000, "to": "1"},
                                     {"from": "1", "to": "٣"}])
def test_odd_song_keys_are_a_400_never_a_500(server, payload):
    _, base, _ = server
    status, _, answer = request(base + "/api/playlists", json.dumps(payload).encode(),
                                {"Content-Type": "application/json"})
    assert status == 400 and set(json.loads(answer)) == {"error", "detail"} and len(answer) < 1000, answer


def test_a_flac_stating_no_length_is_analysed(server, tmp_path):
    """STREAMINFO's total samples 0 means "unknown" (libsndfile then says 2**63 - 1 frames)."""
    _, base, _ = server
    flac = tmp_path / "unknown.flac"
    sf.write(flac, (0.3 * np.sin(np.arange(16000 * 40) / 5)).astype(np.float32), 16000, format="FLAC")
    data = bytearray(flac.read_bytes())
    data[8 + 13] &= 0xF0  # the 36-bit total after fLaC and the block header
    data[8 + 14:8 + 18] = bytes(4)
    flac.write_bytes(bytes(data))
    for timeline in (False, True):
        status, _, answer = request(base + "/api/predict", *form(flac, timeline))
        assert status == 200 and 0 <= json.loads(answer)["valence"] <= 1, answer


def half_hour_flac(path: Path) -> Path:
    """30 minutes of a tone at 8 kHz, written a minute at a time: a long timeline in a small file."""
    with sf.SoundFile(path, "w", 8000, 1, format="FLAC") as out:
        block = (0.2 * np.sin(np.arange(8000 * 60) * np.pi / 20)).astype(np.float32)
        for _ in range(30):
            out.write(block)
    return path


def test_a_request_in_flight_at_sigterm_is_answered_in_the_json_shape(tmp_path):
    """A 1 400-window timeline (~20 s of work) when the server is told to stop: an answer in moodmap's
    error shape, not uvicorn's plain-text 500."""
    long = half_hour_flac(tmp_path / "mix.flac")
    process, base, _ = start_server("--workers", "1", cwd=tmp_path)
    try:
        body, headers = form(long, True, 1.25)
        host, port = base.rsplit("/", 1)[1].split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                               f"{headers['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            time.sleep(2)  # under way
            os.kill(process.pid, signal.SIGTERM)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    finally:
        stop_server(process)
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"503" and b"application/json" in head, answer[:300]
    assert json.loads(content)["error"] == "ServerStopping"


# ------------------------------------------------------------------ round two: item 3, connections
def test_a_flood_of_connections_never_runs_the_server_out_of_open_files(tmp_path):
    """At 256 open files, 200 connections that never finish their heads: those past the cap (a quarter
    of the limit) are answered 503 at once and closed, and a client already connected still gets a
    song whose answer opens the index (at 256 files the server logged EMFILE and stopped answering).
    (The heads' deadline is 30 s here: accepting in bursts of 32, a flood takes its time.)"""
    import resource

    home = tmp_path
    make_user_library(home / "Music", seconds=8.0)
    moodmap("scan", "Music", "--db", "library.sqlite", cwd=home)
    low = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))  # noqa: E731
    port = free_port()
    process = subprocess.Popen([MOODMAP, "serve", "--db", "library.sqlite", "--port", str(port), "--client-timeout",
                                "30"], cwd=home,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=low)
    base = f"http://127.0.0.1:{port}"
    flood: list[socket.socket] = []
    try:
        wait_for(base, process)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as mine:
            refused = 0
            for _ in range(200):
                connection = socket.create_connection(("127.0.0.1", port), timeout=10)
                connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the end
                flood.append(connection)
            time.sleep(0.5)
            for connection in flood:
                connection.setblocking(False)
                try:
                    answer = connection.recv(65536)
                except BlockingIOError:
                    continue  # held open: under the cap
                except ConnectionResetError:
                    answer = b"reset"
                refused += 1
                assert answer.startswith(b"HTTP/1.1 503 ") or answer == b"reset", answer[:200]
                if answer != b"reset":
                    assert b"TooManyConnections" in answer and b"retry-after: 5" in answer.lower()
            assert refused >= 200 - 64
            mine.sendall(b"GET /api/songs/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = mine.recv(65536).split(b"\r\n")[0]
            assert head == b"HTTP/1.1 200 OK", head
    finally:
        for connection in flood:
            connection.close()
        _, err = stop_server(process)
    assert "Too many open files" not in err and "Traceback" not in err, err[-2000:]


def wait_for(base: str, process: subprocess.Popen) -> None:
    for _ in range(300):
        try:
            request(base + "/api/health")
            return
        except OSError:
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
    pytest.fail("moodmap serve did not answer within 30 s")


def free_port() -> int:
    from helpers import free_port as port

    return port()


# ------------------------------------------------------------------ item 6: a queue with a limit
def send_head(base: str, path: str, headers: dict[str, str], length: int) -> socket.socket:
    host, port = base.rsplit("/", 1)[1].split(":")
    connection = socket.create_connection((host, int(port)), timeout=30)
    fields = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    connection.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{fields}Content-Length: {length}\r\n\r\n".encode())
    return connection


def test_past_the_queue_an_upload_is_refused_before_its_body_is_stored(tmp_path):
    """One worker and a queue of one: two 20-second timelines in the server, the third upload gets
    503 with Retry-After from its head alone (its 2 MB body never sent), and nothing of it reaches
    the upload folder. Ten such uploads were all accepted and kept on disk."""
    long = half_hour_flac(tmp_path / "mix.flac")
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    port = free_port()
    process = subprocess.Popen([MOODMAP, "serve", "--port", str(port), "--workers", "1", "--queue", "1"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    base = f"http://127.0.0.1:{port}"
    body, headers = form(long, True, 1.25)
    admitted = []
    try:
        wait_for(base, process)
        for _ in range(2):
            connection = send_head(base, "/api/predict", headers, len(body))
            connection.sendall(body)
            admitted.append(connection)
        time.sleep(1.5)  # both read and stored; one analysed, one waiting
        (folder,) = temp.glob("moodmap-uploads-*")
        stored = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        assert len(stored) == 2
        with send_head(base, "/api/predict", headers, 2 * 2**20) as third:
            began, answer = time.monotonic(), b""
            while piece := third.recv(65536):
                answer += piece
        assert time.monotonic() - began < 2
        head, _, content = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 ") and b"retry-after: 5" in head.lower(), head
        assert json.loads(content)["error"] == "ServerBusy"
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == stored
    finally:
        for connection in admitted:
            connection.close()
        stop_server(process)


# ------------------------------------------------------------------ item 5: costly GETs
def test_costly_gets_are_bounded_and_refused_from_another_origin(server):
    _, base, _ = server
    port = int(base.rsplit(":", 1)[1])
    for hostile in ({"Origin": f"http://127.0.0.1:{port + 1}"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        for path in ("/api/playlists?arousal=arc&n=20", "/api/map", "/api/songs", "/api/songs/1/audio"):
            status, _, answer = request(base + path, headers=hostile)
            assert (status, json.loads(answer)["error"]) == (403, "ForbiddenOrigin"), (path, hostile)
    status, _, answer = request(base + "/api/playlists?arousal=arc&n=1000")
    assert status == 422 and "200" in json.loads(answer)["detail"]
    assert request(base + "/api/playlists?arousal=arc&n=5", headers={"Sec-Fetch-Site": "same-origin"})[0] == 200


# ------------------------------------------------------------------ item 8: nothing echoed, nothing revealed
def test_errors_quote_a_short_prefix_and_never_the_upload_folder(server, tmp_path):
    _, base, _ = server
    status, _, answer = request(base + "/api/playlists", json.dumps({"mood": "m" * 131_072}).encode()[:65536 - 10],
                                {"Content-Type": "application/json"})
    assert status in (400, 422) and len(answer) < 600, len(answer)  # (the whole body is over 64 KB: see below)
    status, _, answer = request(base + "/api/playlists", json.dumps({"mood": "<i>" + "m" * 60_000}).encode(),
                                {"Content-Type": "application/json"})
    assert status == 400 and len(answer) < 600 and b"<i>" not in answer and b"(60003 characters)" in answer, answer
    status, _, answer = request(base + "/api/songs?mood=" + "q" * 8000)
    assert 400 <= status < 500 and len(answer) < 600, answer
    junk = tmp_path / "not a song.ogg"
    junk.write_bytes(b"OggS" + os.urandom(5000))
    body, kind = _upload(junk)
    model = (b"--moodmapboundary\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + b"x" * 900_000 + b"\r\n")
    status, _, answer = request(base + "/api/predict", model + body, {"Content-Type": kind})
    assert status == 400 and len(answer) < 600, len(answer)
    status, _, answer = request(base + "/api/predict", body, {"Content-Type": kind})
    detail = json.loads(answer)["detail"]
    assert status == 422 and "moodmap-uploads" not in detail and tempfile_dir() not in detail, detail
    assert '"not a song.ogg"' in detail, detail


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_the_json_limit_is_64_kb_as_documented(server):
    _, base, _ = server
    exact = json.dumps({"mood": "calm", "pad": ""}).encode()
    exact = exact[:-2] + b" " * (65536 - len(exact)) + exact[-2:]
    assert len(exact) == 65536 and request(base + "/api/playlists", exact, {"Content-Type": "application/json"})[0] == 422
    status, answer = raw_request(base, "POST /api/playlists HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                       "application/json\r\nContent-Length: 65537\r\n\r\n{")
    assert status == 413 and json.loads(answer)["detail"] == "request body larger than the limit of 0.0625 MB"


# ------------------------------------------------------------------ item 9: nothing left behind
def test_a_killed_servers_upload_folder_is_removed_at_the_next_start_and_only_it(tmp_path):
    """kill -9 with a timeline in flight leaves its upload in the server's folder; the next server
    removes that folder, and leaves a live server's folder and a look-alike moodmap did not make."""
    long = half_hour_flac(tmp_path / "mix.flac")
    temp = tmp_path / "temp"
    temp.mkdir()
    decoy = temp / "moodmap-uploads-not-ours"
    decoy.mkdir()
    (decoy / "keep.ogg").write_bytes(b"someone else's")

    def serve() -> tuple[subprocess.Popen, str]:
        port = free_port()
        process = subprocess.Popen([MOODMAP, "serve", "--port", str(port), "--workers", "1"], cwd=tmp_path,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "TMPDIR": str(temp)})
        wait_for(f"http://127.0.0.1:{port}", process)
        return process, f"http://127.0.0.1:{port}"

    def folders() -> set[Path]:
        return set(temp.glob("moodmap-uploads-*"))

    live, _ = serve()
    doomed, base = serve()
    live_folder = next(f for f in folders() if (f / ".moodmap-owner").exists()
                       and json.loads((f / ".moodmap-owner").read_text())["pid"] == live.pid)
    doomed_folder = next(f for f in folders() - {live_folder, decoy})
    body, headers = form(long, True, 1.25)
    with send_head(base, "/api/predict", headers, len(body)) as connection:
        connection.sendall(body)
        time.sleep(1.5)  # stored and under way
        assert [p.suffix for p in doomed_folder.iterdir() if not p.name.startswith(".")] == [".flac"]
        stop_server(doomed, signal.SIGKILL)
    assert doomed_folder.exists()  # no shutdown ran
    again = None
    try:
        again, _ = serve()
        assert not doomed_folder.exists()
        assert live_folder.is_dir() and (decoy / "keep.ogg").read_bytes() == b"someone else's"
        assert len(folders()) == 3  # the live one's, the look-alike, the new server's
    finally:
        stop_server(live)
        if again is not None:
            stop_server(again)


# ------------------------------------------------------------------ item 10: one shape, every answer
def test_range_errors_are_in_the_one_error_shape(server):
    _, base, _ = server
    status, headers, answer = request(base + "/api/songs/1/audio", headers={"Range": "bytes=5-2"})
    assert status == 400 and json.loads(answer)["error"] == "BadRange" and headers["X-Frame-Options"] == "DENY"
    status, headers, answer = request(base + "/api/songs/1/audio", headers={"Range": "bytes=999999999-"})
    assert status == 416 and json.loads(answer)["error"] == "RangeNotSatisfiable"
    assert re.fullmatch(r"bytes \*/\d+", headers["Content-Range"]) and "script-src" in headers["Content-Security-Policy"]
    status, headers, answer = request(base + "/api/songs/1/audio", headers={"Range": "bytes=0-9"})
    assert status == 206 and len(answer) == 10


@pytest.mark.parametrize("path", ["/", "/api/songs/1/audio", "/api/health", "/docs"])
def test_head_works_where_get_does(server, path):
    _, base, _ = server
    got = request(base + path)
    status, headers, answer = request(base + path, method="HEAD")
    assert status == got[0] == 200 and answer == b"" and headers["Content-Type"] == got[1]["Content-Type"]
    assert headers["Content-Length"] == got[1]["Content-Length"]


def test_refusals_and_docs_carry_the_policy_and_each_header_once(server):
    _, base, _ = server
    port = base.rsplit(":", 1)[1]
    answers = [request(base + "/api/health", headers={"Host": f"evil.example:{port}"}),
               request(base + "/api/predict", b"{}", {"Origin": "http://evil.example"}),
               request(base + "/docs"), request(base + "/redoc"), request(base + "/openapi.json"),
               request(base + "/docs-assets/swagger-ui.css")]
    status, answer = raw_request(base, "POST /api/playlists HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999\r\n\r\n")
    assert status == 413
    for status, headers, _ in answers:
        assert len(headers.get_all("Content-Security-Policy")) == 1 and "script-src 'self'" in \
            headers["Content-Security-Policy"], status
    assert [a[0] for a in answers[:2]] == [403, 403]
    host, port_number = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port_number)), timeout=10) as connection:
        connection.sendall(b"POST /api/playlists HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999\r\n\r\n")
        head = connection.recv(65536).partition(b"\r\n\r\n")[0].lower().split(b"\r\n")
    names = [line.split(b":")[0] for line in head[1:]]
    assert head[0].startswith(b"http/1.1 413") and len(names) == len(set(names)), head


def test_an_ipv6_host_is_printed_as_a_url_a_browser_opens(tmp_path):
    port = free_port()
    process = subprocess.Popen([MOODMAP, "serve", "--host", "::1", "--port", str(port)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"moodmap at http://[::1]:{port}/ "), line
        url = line.split()[2]
        for _ in range(100):  # said at start-up, a moment before the socket listens
            try:
                assert json.loads(request(url + "api/health")[2])["status"] == "ok"
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"{url} did not answer")
    finally:
        stop_server(process)
