"""Loopback load on a running `moodmap serve`, and the memory of a process tree: shared by the
web load test (tests/test_web_load.py) and the benchmark (benchmarks/web_load.py)."""
from __future__ import annotations

import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def multipart(name: str, payload: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field, and its content type."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: audio/mpeg\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def request(url: str, data: bytes | None = None, content_type: str | None = None) -> tuple[int, float]:
    """(HTTP status or -1 when the connection failed, seconds taken)."""
    began = time.perf_counter()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": content_type} if content_type else {})
    try:
        with urllib.request.urlopen(req, timeout=300) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = -1
    return status, time.perf_counter() - began


def wait_until_up(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    """Return once /api/health answers; fail when the server exits or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        if request(f"{url}/api/health")[0] == 200:
            return
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def run_load(url: str, uploads: dict[str, tuple[bytes, str]], uploaders: int, readers: int,
             seconds: float) -> dict[str, list[tuple[int, float]]]:
    """For ``seconds``, ``uploaders`` threads per kind of upload POST it to /api/predict again and
    again while ``readers`` threads alternate GET /api/map and /api/songs; every outcome by kind."""
    results: dict[str, list[tuple[int, float]]] = {kind: [] for kind in (*uploads, "map", "songs")}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def uploader(kind: str) -> None:
        body, content_type = uploads[kind]
        while time.perf_counter() < deadline:
            outcome = request(f"{url}/api/predict", body, content_type)
            with lock:
                results[kind].append(outcome)

    def reader(k: int) -> None:
        while time.perf_counter() < deadline:
            kind = ("map", "songs")[k % 2]
            outcome = request(url + ("/api/map" if kind == "map" else "/api/songs?mood=calm&limit=100"))
            with lock:
                results[kind].append(outcome)
            k += 1

    threads = [threading.Thread(target=uploader, args=(kind,)) for kind in uploads for _ in range(uploaders)]
    threads += [threading.Thread(target=reader, args=(k,)) for k in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
