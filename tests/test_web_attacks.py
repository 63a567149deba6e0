"""`moodmap serve` against crafted uploads and requests (issue 31): a real server on loopback, files
made here. A container that states no length, an Ogg whose last page lies about its length, an
Origin on another local port, input that once gave a 500, and a SIGTERM with a request in flight."""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")

from loadgen import tree_rss  # noqa: E402
from test_user_commands import moodmap, start_server, stop_server  # noqa: E402
from test_web_security import _upload, request  # noqa: E402
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


def test_a_request_in_flight_at_sigterm_is_answered_in_the_json_shape(tmp_path):
    """A 1 400-window timeline (~20 s of work) when the server is told to stop: an answer in moodmap's
    error shape, not uvicorn's plain-text 500."""
    long = tmp_path / "mix.flac"
    with sf.SoundFile(long, "w", 8000, 1, format="FLAC") as out:
        block = (0.2 * np.sin(np.arange(8000 * 60) * np.pi / 20)).astype(np.float32)
        for _ in range(30):
            out.write(block)
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
