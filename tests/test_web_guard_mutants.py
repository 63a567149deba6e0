"""What the web server's guard and body limits answer, exactly: the real app (``create_app``) in
process, so each check takes milliseconds (tests/test_web_security.py makes the same requests to a
real ``moodmap serve``). The mutation runs of ``web/guard`` and ``web/limits`` found these unchecked
(docs/explanation/mutation.md). Time limits are shortened here; their values are the modules' constants."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from helpers import free_port  # noqa: E402
from moodmap.web import guard  # noqa: E402
from moodmap.web.app import MAX_JSON_BODY, ServerSettings, create_app  # noqa: E402

SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
            "cross-origin-resource-policy": "same-origin"}
HOST_REFUSAL = ("this server answers only to the names it is known by (see --allowed-host); a foreign Host is how "
                "a web page would reach it through DNS rebinding")
ORIGIN_REFUSAL = "requests that change or cost something are accepted only from moodmap's own page"


@pytest.fixture(scope="module")
def client():
    settings = ServerSettings(max_upload_bytes=2 * 2**20, allowed_hosts=("Music.LAN", "[fe80::1]", "Xylo.lan", ""))
    with TestClient(create_app(settings), raise_server_exceptions=False, base_url="http://127.0.0.1") as test_client:
        yield test_client


def error_of(response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"error", "detail"}
    return response.status_code, body["error"], body["detail"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost", "LocalHost:80", " localhost ", "[::1]",
                                  "[::1]:8000", "::1", "music.lan", "MUSIC.lan:8000", "[fe80::1]:80", "xylo.lan"])
def test_a_known_host_is_answered_whatever_its_port_case_or_brackets(client, host):
    assert client.get("/api/health", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.2", "localhost.evil.example", "",
                                  "[::1", "[::2]:80", "::2", "fe80::1:80", "lan"])
def test_a_foreign_or_empty_host_is_refused_in_the_one_error_shape(client, host):
    response = client.get("/api/health", headers={"host": host})
    assert error_of(response) == (403, "ForbiddenHost", HOST_REFUSAL)
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    assert {k: response.headers.get(k) for k in SECURITY} == SECURITY and "connection" not in response.headers
    assert response.headers.get_list("content-security-policy") == [guard.CSP]  # the refusal is marked too


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"}, {"origin": "null"},
                                     {"origin": "http://127.0.0.1.evil.example:8000"},
                                     {"sec-fetch-site": "cross-site"},
                                     {"origin": "http://127.0.0.1", "sec-fetch-site": "cross-site"},
                                     # another port is another origin (the client's server is 127.0.0.1:80)
                                     {"origin": "http://127.0.0.1:8000"}, {"origin": "http://[::1]:8000"},
                                     {"origin": "https://127.0.0.1:80"}, {"origin": "http://127.0.0.1:99999"},
                                     {"origin": "ftp://127.0.0.1"}, {"sec-fetch-site": "same-site"}])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_costly_request_from_another_origin_is_refused(client, headers, method):
    response = client.request(method, "/api/playlists", json={"mood": "calm"}, headers=headers)
    assert error_of(response) == (403, "ForbiddenOrigin", ORIGIN_REFUSAL)


@pytest.mark.parametrize("headers", [{}, {"origin": "http://127.0.0.1:80"}, {"origin": "http://LOCALHOST"},
                                     {"origin": "http://[::1]", "sec-fetch-site": "same-origin"},
                                     {"origin": "https://music.lan"},  # a proxy's: the port of its Host (none: 443)
                                     {"sec-fetch-site": "none"}])
def test_a_costly_request_from_moodmaps_own_page_goes_through(client, headers):
    response = client.post("/api/playlists", json={"mood": "calm"}, headers=headers)
    assert response.status_code not in (403, 413), response.text


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/static/app.js", "/docs"])
def test_the_page_and_its_files_are_read_from_any_origin(client, method, path):
    response = client.request(method, path, headers={"origin": "http://evil.example", "sec-fetch-site": "cross-site"})
    assert response.status_code != 403


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"},
                                     {"sec-fetch-site": "same-site"}, {"origin": "http://127.0.0.1:3000"}])
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/playlists?mood=calm&n=5", "/api/map", "/api/songs", "/api/health",
                                  "/api/songs/1/audio"])
def test_an_endpoint_that_does_work_refuses_another_origin_even_for_a_get(client, headers, method, path):
    """A page elsewhere can make the browser GET ``/api/playlists?arousal=arc&n=…`` as often as it likes
    (an ``<img>``, a no-cors fetch): every ``/api/`` endpoint reads the index or works, so none answers it."""
    response = client.request(method, path, headers=headers)
    assert response.status_code == 403
    if method != "HEAD":
        assert error_of(response) == (403, "ForbiddenOrigin", ORIGIN_REFUSAL)


@pytest.mark.parametrize("headers", [{}, {"sec-fetch-site": "same-origin"}, {"sec-fetch-site": "none"},
                                     {"origin": "http://127.0.0.1", "sec-fetch-site": "same-origin"}])
def test_an_endpoint_that_does_work_answers_its_own_page_a_player_and_a_typed_address(client, headers):
    assert client.get("/api/health", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/health", "/static/app.js", "/openapi.json", "/no-such-page",
                                  "/docs-assets/swagger-ui.css"])
def test_every_answer_is_marked_and_carries_the_content_policy(client, path):
    response = client.get(path)
    assert {k: response.headers.get(k) for k in SECURITY} == SECURITY
    assert response.headers.get_list("content-security-policy") == [guard.CSP]
    assert response.headers.get_list("x-frame-options") == ["DENY"]


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_docs_pages_carry_a_policy_naming_their_own_inline_scripts(client, path):
    """Swagger UI and ReDoc start with inline scripts: the policy allows exactly those (by hash)."""
    import base64
    import hashlib
    import re

    response = client.get(path)
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    assert response.headers.get_list("content-security-policy") == [guard.DOCS_CSP.format(hashes=hashes)]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"].split("style-src")[0]
    assert (path == "/redoc") == (not scripts)  # ReDoc's page has none; the others one each
    assert {k: response.headers.get(k) for k in SECURITY} == SECURITY


@pytest.mark.parametrize("path", ["/", "/api/health", "/static/app.js", "/docs", "/openapi.json",
                                  "/docs-assets/favicon.png"])
def test_head_is_answered_wherever_get_is(client, path):
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_the_app_keeps_its_own_headers_beside_the_guards(client):
    response = client.get("/api/health")
    assert response.headers["content-type"] == "application/json" and response.json()["status"] == "ok"


# ------------------------------------------------------------------ the body limits
@pytest.mark.parametrize("path, limit, size", [("/api/playlists", "0.0625", MAX_JSON_BODY),  # 64 KB, as documented
                                               ("/api/predict", "2", 2 * 2**20 + 64 * 1024)])  # + the form around
def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(client, path, limit, size):
    response = client.post(path, content=b"{}", headers={"content-length": str(size + 1),
                                                         "content-type": "application/json"})
    assert error_of(response) == (413, "PayloadTooLarge", f"request body larger than the limit of {limit} MB")
    assert response.headers["connection"] == "close"
    # the guard leaves the limits' own marks as they are: each header once
    assert {k: response.headers.get_list(k) for k in SECURITY} == {k: [v] for k, v in SECURITY.items()}
    assert response.headers.get_list("content-security-policy") == [guard.CSP]


def run_asgi(app, method: str, path: str, headers: dict, chunks: list[bytes], stall: bool = False) -> list[dict]:
    """One request straight into the app: the body in ``chunks`` (``stall``: and then nothing more)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.encode(), v.encode()) for k, v in {"host": "127.0.0.1", **headers}.items()],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    pending = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1 or stall}
               for i, chunk in enumerate(chunks)]
    sent: list[dict] = []

    async def receive():
        if pending:
            return pending.pop(0)
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 20))
    return sent


def answer(sent: list[dict]) -> tuple[int, dict, dict]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(body)


@pytest.mark.parametrize("extra, status", [(0, 422), (1, 413)])
def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_the_limit(client, extra, status):
    total = MAX_JSON_BODY + extra  # 64 KB is the limit, with no multipart allowance added
    body = b'{"mood": "calm", "pad": "' + b"x" * (total - 27) + b'"}'
    chunks = [body[:1000], body[1000:]]
    assert len(body) == total
    got = answer(run_asgi(client.app, "POST", "/api/playlists", {"content-type": "application/json"}, chunks))
    assert got[0] == status
    if status == 413:  # raised inside the app, so the app's handler answers
        assert got[2]["detail"] == "request body larger than the limit of 0.0625 MB"


@pytest.mark.parametrize("length", ["12x", "-1", "1e3"])
def test_a_content_length_that_is_not_a_number_is_a_bad_request(client, length):
    got = answer(run_asgi(client.app, "POST", "/api/playlists", {"content-length": length}, [b"{}"]))
    assert got[0] == 400 and got[2] == {"error": "BadRequest", "detail": "invalid Content-Length header"}
    assert got[1]["connection"] == "close"


def test_an_upload_is_measured_against_the_upload_limit_not_the_json_one(client):
    body = b"x" * (MAX_JSON_BODY + 64 * 1024 + 1000)
    response = client.post("/api/predict", files={"file": ("a.wav", body)}, data={"model": "no-such-model"})
    assert response.status_code not in (403, 413) and response.status_code < 500, response.text


def test_a_stalled_body_is_answered_408_and_the_connection_closed(client, monkeypatch):
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.3)
    began = time.monotonic()
    got = answer(run_asgi(client.app, "POST", "/api/playlists", {"content-type": "application/json",
                                                                 "content-length": "100"}, [b'{"mo'], stall=True))
    assert got[0] == 408 and got[2]["detail"] == "the request body stalled for 0.3 s"
    assert time.monotonic() - began < 5


def test_a_body_sent_in_time_piece_by_piece_is_read_whole(client, monkeypatch):
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.5)
    pieces = [b'{"mood"', b': "calm"', b', "n": 3}']
    got = answer(run_asgi(client.app, "POST", "/api/playlists", {"content-type": "application/json"}, pieces))
    assert got[0] == 400 and got[2]["detail"] == "the library index has no songs; run `moodmap scan` first"


# ------------------------------------------------------------------ the deadline for request heads
@pytest.fixture
def server(monkeypatch, request):
    """uvicorn with moodmap's HTTP protocol, heads due within 0.5 s (``indirect`` param: at most that
    many connections open)."""
    import uvicorn

    monkeypatch.setattr(guard, "HEADER_SECONDS", 0.5)
    monkeypatch.setattr(guard, "MAX_CONNECTIONS", getattr(request, "param", guard.MAX_CONNECTIONS))
    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="error",
                            http=guard.header_deadline_protocol())
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield port
    running.should_exit = True
    thread.join(10)


HEALTH = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read_answer(connection: socket.socket) -> bytes:
    """One whole answer (head and a Content-Length body) from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += connection.recv(65536)
    return head


def closed_after(connection: socket.socket) -> float:
    """Seconds until the server closes the connection (reading and dropping any answer)."""
    began = time.monotonic()
    while connection.recv(65536):
        pass
    return time.monotonic() - began


def test_a_head_dribbled_past_the_deadline_is_cut_off(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as connection:
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert 0.3 < closed_after(connection) < 3


def test_a_head_sent_in_time_is_answered_and_an_idle_connection_closed_a_deadline_later(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as connection:
        time.sleep(0.2)
        connection.sendall(HEALTH)
        assert read_answer(connection).startswith(b"HTTP/1.1 200")
        time.sleep(0.4)  # past the first deadline: the answer re-armed it
        connection.sendall(HEALTH)
        assert read_answer(connection).startswith(b"HTTP/1.1 200")
        assert 0.3 < closed_after(connection) < 3


def test_each_connection_keeps_its_own_head_deadline(server):
    """Other clients' requests finishing meanwhile (one polling /api/health) never lift the deadline
    of a connection dribbling its head: it compared the server-wide request count."""
    with socket.create_connection(("127.0.0.1", server), timeout=10) as dribbler, \
            socket.create_connection(("127.0.0.1", server), timeout=10) as poller:
        dribbler.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        dribbler.setblocking(False)
        began, closed = time.monotonic(), None
        while closed is None and time.monotonic() - began < 3:
            poller.sendall(HEALTH)
            assert read_answer(poller).startswith(b"HTTP/1.1 200")
            try:
                closed = dribbler.recv(100) == b""
            except BlockingIOError:
                time.sleep(0.05)
        assert closed and 0.3 < time.monotonic() - began < 2


@pytest.mark.parametrize("server", [3], indirect=True)
def test_connections_past_the_cap_are_answered_503_and_closed_at_once(server):
    """Three open connections (heads pending): the fourth gets moodmap's JSON 503 with Retry-After and
    is closed before it sends anything; once one of the three goes, a new one is served."""
    held = [socket.create_connection(("127.0.0.1", server), timeout=10) for _ in range(3)]
    try:
        time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", server), timeout=10) as extra:
            began, answer = time.monotonic(), b""
            while piece := extra.recv(65536):
                answer += piece
            assert time.monotonic() - began < 0.3  # not the head deadline: at once
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 ") and b"\r\nretry-after: 5" in head.lower()
        assert json.loads(body)["error"] == "TooManyConnections" and b"content-security-policy" in head
        held.pop().close()
        time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", server), timeout=10) as again:
            again.sendall(HEALTH)
            assert read_answer(again).startswith(b"HTTP/1.1 200")
    finally:
        for connection in held:
            connection.close()


def test_the_cap_and_the_accept_burst_leave_most_open_files_to_the_server(monkeypatch):
    import resource

    monkeypatch.setattr(guard, "MAX_CONNECTIONS", 100)
    monkeypatch.setattr(resource, "getrlimit", lambda _: (128, 4096))
    assert (guard.connection_cap(), guard.accept_backlog()) == (32, 16)
    monkeypatch.setattr(resource, "getrlimit", lambda _: (100_000, 100_000))
    assert (guard.connection_cap(), guard.accept_backlog()) == (100, 2048)


# ------------------------------------------------------------------ the guard around any ASGI app
def guarded(app, method: str, body_parts: list[bytes], later: list[dict], more: bool = False,
            headers: dict[str, str] | None = None, allowed_hosts: tuple[str, ...] = ()) -> list[dict]:
    """``app`` behind the guard; the client sends ``body_parts`` (``more``: promising more) and then,
    ``later`` (after 0.6 s each), further messages (a disconnect); nothing more after that."""
    sent_headers = {"host": "127.0.0.1", **(headers or {})}
    scope = {"type": "http", "method": method, "path": "/x",
             "headers": [(k.encode(), v.encode()) for k, v in sent_headers.items()]}
    pending = [{"type": "http.request", "body": part, "more_body": more or i < len(body_parts) - 1}
               for i, part in enumerate(body_parts)]
    sent: list[dict] = []

    async def receive():
        if pending:
            return pending.pop(0)
        await asyncio.sleep(0.6)
        return later.pop(0) if later else await asyncio.sleep(30)

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(guard.RequestGuard(app, allowed_hosts)(scope, receive, send), 10))
    return sent


def test_a_bare_app_whose_body_stalls_gets_the_guards_own_408(monkeypatch):
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.3)

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass

    sent = guarded(app, "POST", [b"a"], [], more=True)  # one piece and more promised: then silence
    status = next(m for m in sent if m["type"] == "http.response.start")
    assert status["status"] == 408 and (b"connection", b"close") in status["headers"]
    assert json.loads(sent[-1]["body"]) == {"error": "RequestTimeout", "detail": "the request body stalled for 0.3 s"}


def dribbled(app, pieces: int, every: float, headers: dict[str, str] | None = None) -> tuple[list[dict], float]:
    """``app`` behind the guard, its client sending one byte every ``every`` s (``pieces`` of them, then
    the end): what was sent back, and when the answer began."""
    scope = {"type": "http", "method": "POST", "path": "/x",
             "headers": [(k.encode(), v.encode()) for k, v in {"host": "127.0.0.1", **(headers or {})}.items()]}
    sent: list[dict] = []
    left = [pieces]

    async def receive():
        await asyncio.sleep(every)
        left[0] -= 1
        return {"type": "http.request", "body": b"x", "more_body": left[0] > 0}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.start":
            answered.append(time.monotonic())

    answered: list[float] = []
    began = time.monotonic()
    asyncio.run(asyncio.wait_for(guard.RequestGuard(app, ())(scope, receive, send), 20))
    return sent, (answered or [time.monotonic()])[0] - began


async def reading_app(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_a_body_dribbled_under_the_pause_limit_is_cut_at_its_total_time(monkeypatch):
    """A byte every 0.3 s never pauses 0.5 s, yet the whole body may take 0.5 s + 1 s per 64 KB: cut
    (408) at ~0.5 s, not after its 40 pieces (12 s)."""
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.5)
    sent, after = dribbled(reading_app, 40, 0.3)
    status, headers, body = answer(sent)
    assert status == 408 and headers["connection"] == "close" and 0.4 < after < 1.5
    assert body == {"error": "RequestTimeout", "detail": "the request body came too slowly: 1 bytes, past the "
                                                         "0.5 s (+ 1 s per 64 KB) a body may take"}


def test_a_body_that_keeps_its_pace_is_read_whole(monkeypatch):
    """The total grows with what arrives: 64 KB a second is always in time."""
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.5)
    monkeypatch.setattr(guard, "BODY_RATE", 8)  # 8 bytes a second: a byte every 0.1 s keeps ahead
    sent, _ = dribbled(reading_app, 10, 0.1)
    assert sent[0]["status"] == 204


def test_a_stall_after_the_answer_began_is_not_answered_twice(monkeypatch):
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.3)

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200})  # ASGI: headers may be left out
        while (await receive()).get("more_body"):
            pass

    sent = guarded(app, "POST", [b"a"], [], more=True)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200]
    assert {k.decode(): v.decode() for k, v in sent[0]["headers"]}["x-frame-options"] == "DENY"


def test_waiting_for_a_disconnect_after_the_body_is_not_timed(monkeypatch):
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.3)

    async def app(scope, receive, send):
        assert (await receive())["more_body"] is False
        assert (await receive())["type"] == "http.disconnect"  # 0.6 s later: a long answer's listener
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent = guarded(app, "POST", [b"all of it"], [{"type": "http.disconnect"}])
    assert sent[0]["status"] == 204


def test_a_body_message_without_more_body_is_the_last_one(monkeypatch):
    """ASGI: ``more_body`` left out means False (a server may omit it), so waiting for the disconnect
    after that message is not timed either."""
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.3)
    messages = [{"type": "http.request", "body": b"all of it"}, {"type": "http.disconnect"}]

    async def receive():
        message = messages.pop(0)
        if message["type"] == "http.disconnect":
            await asyncio.sleep(0.6)
        return message

    async def app(scope, receive, send):
        assert "more_body" not in await receive()
        assert (await receive())["type"] == "http.disconnect"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": [(b"host", b"127.0.0.1")]}
    asyncio.run(asyncio.wait_for(guard.RequestGuard(app, ())(scope, receive, send), 10))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [204]


@pytest.mark.parametrize("allowed", [(), ("music.lan",), ("[]",)])
def test_a_null_origin_is_refused_whatever_names_the_server_allows(allowed):
    """A sandboxed frame or a local file sends ``Origin: null``; it is not moodmap's page, even on a
    server told to allow an empty bracketed name (whose hostname is the null origin's empty one)."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent = guarded(app, "POST", [b"{}"], [], headers={"origin": "null"}, allowed_hosts=allowed)
    status, _, body = answer(sent)
    assert (status, body) == (403, {"error": "ForbiddenOrigin", "detail": ORIGIN_REFUSAL})


@pytest.mark.parametrize("host", ["", "[]", "user@127.0.0.1", "127.0.0.1:http", "[::1]evil.example"])
def test_an_allowed_name_of_only_brackets_lets_no_empty_or_malformed_host_in(host):
    """``--allowed-host []`` names nothing: an empty Host, and every Host that is not a name and a port
    (whose hostname is the empty one), stay refused."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    status, _, body = answer(guarded(app, "GET", [b""], [], headers={"host": host}, allowed_hosts=("[]",)))
    assert (status, body) == (403, {"error": "ForbiddenHost", "detail": HOST_REFUSAL})


# ------------------------------------------------------------------ the body limits around any ASGI app
def limited(app, path: str, body_parts: list[bytes], headers: dict[str, str] | None = None,
            later: list[dict] | None = None, kind: str = "http") -> tuple[list[dict], list[dict]]:
    """``app`` behind a 100-byte (+ 64 KB of slack, an upload's) limit on /api except /api/skip; the client sends
    ``body_parts``, then the ``later`` messages. What the app received, and what was sent back."""
    from moodmap.web.limits import BodyLimit

    scope = {"type": kind, "method": "POST", "path": path,
             "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()]}
    pending = [{"type": "http.request", "body": part, "more_body": i < len(body_parts) - 1}
               for i, part in enumerate(body_parts)] + list(later or [])
    received: list[dict] = []
    sent: list[dict] = []

    async def receive():
        return pending.pop(0)

    async def send(message):
        sent.append(message)

    async def reader(scope, receive, send):
        while True:
            message = await receive()
            received.append(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    limit = BodyLimit(app or reader, 100, paths=("/api",), skip=("/api/skip",), slack=SLACK)
    asyncio.run(asyncio.wait_for(limit(scope, receive, send), 10))
    return received, sent


SLACK = 64 * 1024


@pytest.mark.parametrize("path", ["/elsewhere", "/api/skip/x"])
def test_a_body_outside_the_limited_paths_is_passed_through_whole(path):
    body = [b"x" * SLACK, b"x" * 200]
    received, sent = limited(None, path, body, headers={"content-length": str(SLACK + 200)})
    assert b"".join(m["body"] for m in received) == b"".join(body) and sent[0]["status"] == 200


def test_a_websocket_is_not_measured():
    received, sent = limited(None, "/api/ws", [b"x" * (SLACK + 200)], kind="websocket")
    assert len(received[0]["body"]) == SLACK + 200 and sent[0]["status"] == 200


@pytest.mark.parametrize("size, status", [(SLACK + 100, 200), (SLACK + 101, 413)])
def test_a_declared_length_is_measured_against_the_limit_and_its_slack(size, status):
    received, sent = limited(None, "/api/x", [b"{}"], headers={"content-length": str(size)})
    assert sent[0]["status"] == status
    assert received == ([] if status == 413 else [{"type": "http.request", "body": b"{}", "more_body": False}])
    if status == 413:
        assert json.loads(sent[1]["body"]) == {"error": "PayloadTooLarge",
                                               "detail": "request body larger than the limit of 9.53674e-05 MB"}


def test_a_disconnect_does_not_count_against_the_limit():
    async def app(scope, receive, send):
        assert len((await receive())["body"]) == SLACK + 100
        assert (await receive())["type"] == "http.disconnect"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    _, sent = limited(app, "/api/x", [b"x" * (SLACK + 100)], later=[{"type": "http.disconnect"}])
    assert sent[0]["status"] == 204


def test_a_body_passing_the_limit_after_the_answer_began_is_not_answered_twice():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    _, sent = limited(app, "/api/x", [b"x" * SLACK, b"x" * 101, b""])
    assert [m.get("status") for m in sent] == [200]


def test_a_bare_app_whose_streamed_body_passes_the_limit_gets_the_limits_own_413():
    _, sent = limited(None, "/api/x", [b"x" * SLACK, b"x" * 101, b""])
    start = sent[0]
    assert start["status"] == 413 and (b"connection", b"close") in start["headers"] and len(sent) == 2
    assert json.loads(sent[1]["body"]) == {"error": "PayloadTooLarge",
                                           "detail": "request body larger than the limit of 9.53674e-05 MB"}


def test_the_json_limit_has_no_multipart_allowance():
    """64 KB means 64 KB: the upload form's allowance is the upload limit's alone."""
    from moodmap.web.limits import BodyLimit

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/api/x", "headers": [(b"content-length", b"101")]}
    asyncio.run(BodyLimit(None, 100, paths=("/api",))(scope, receive, send))
    assert sent[0]["status"] == 413 and json.loads(sent[1]["body"])["detail"].endswith("9.53674e-05 MB")


# ------------------------------------------------------------------ admission: a queue with a limit
def admitted(limit: int, running: int | None, requests: int, hold: float = 0.5) -> tuple[list, list, int]:
    """``requests`` sent at once to an app that reads its body and holds each request ``hold`` s,
    behind Admission(limit, running): the answers' statuses and headers, the bodies the app read,
    and the most requests the app worked on at once."""
    from moodmap.web.limits import Admission

    read: list[bytes] = []
    busy = [0, 0]

    async def app(scope, receive, send):
        read.append((await receive())["body"])
        busy[0] += 1
        busy[1] = max(busy)
        await asyncio.sleep(hold)
        busy[0] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = Admission(app, "/api/work/?", limit, "analyses", running=running)

    async def one(i: int):
        sent: list[dict] = []

        async def receive():
            return {"type": "http.request", "body": f"upload {i}".encode(), "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/api/work", "headers": []}
        await gate(scope, receive, send)
        return sent[0]["status"], {k.decode(): v.decode() for k, v in sent[0]["headers"]}, sent

    async def all_at_once():
        return await asyncio.gather(*(one(i) for i in range(requests)))

    return asyncio.run(asyncio.wait_for(all_at_once(), 20)), read, busy[1]


def test_past_the_queue_a_request_is_refused_503_with_retry_after_before_its_body_is_read():
    answers, read, _ = admitted(limit=3, running=None, requests=5)
    assert sorted(status for status, _, _ in answers) == [200, 200, 200, 503, 503]
    assert sorted(read) == [b"upload 0", b"upload 1", b"upload 2"]  # the refused ones' bodies never read
    refused = next(a for a in answers if a[0] == 503)
    assert refused[1]["retry-after"] == "5" and refused[1]["connection"] == "close"
    assert json.loads(refused[2][1]["body"]) == {
        "error": "ServerBusy", "detail": "this server has 3 analyses under way or waiting, the most it takes at once; "
                                         "try again in 5 s"}


def test_the_queue_frees_its_places_as_requests_end():
    admitted(limit=1, running=None, requests=1, hold=0.01)
    answers, _, _ = admitted(limit=2, running=None, requests=2, hold=0.01)
    assert [a[0] for a in answers] == [200, 200]


def test_costly_requests_run_a_few_at_a_time_the_others_wait_their_turn():
    answers, read, most = admitted(limit=6, running=2, requests=6, hold=0.2)
    assert [a[0] for a in answers] == [200] * 6 and most == 2 and len(read) == 6


def test_paths_outside_the_pattern_are_not_counted():
    from moodmap.web.limits import Admission

    sent: list[dict] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})

    async def send(message):
        sent.append(message)

    gate = Admission(app, "/api/work/?", 0, "analyses")
    asyncio.run(gate({"type": "http", "method": "GET", "path": "/api/work/1/audio", "headers": []}, None, send))
    asyncio.run(gate({"type": "http", "method": "GET", "path": "/api/work", "headers": []}, None, send))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [204, 503]


# ------------------------------------------------------------------ errors quote a short prefix, never a path
@pytest.mark.parametrize("where", ["json", "query"])
@pytest.mark.parametrize("field", ["mood", "quadrant", "near", "from", "arousal"])
def test_a_long_playlist_key_is_quoted_short(client, where, field):
    """A 60 000-character mood came back whole in its error (131 KB): now a 40-character prefix."""
    value = "<b>" + "x" * 60_000
    payload = {field: value, **({"to": "1"} if field == "from" else {})}
    response = (client.post("/api/playlists", json=payload) if where == "json"
                else client.get("/api/playlists", params=payload))
    status, _, detail = error_of(response)
    assert status == 400 and len(response.content) < 500 and "<b>" not in detail
    assert f'"\\u003cb\\u003e{"x" * 37}"… (60003 characters)' in detail, detail


def test_a_long_model_name_is_quoted_short(client):
    response = client.post("/api/predict", files={"file": ("a.wav", b"RIFF")}, data={"model": "m" * 900_000})
    status, _, detail = error_of(response)
    assert status == 400 and len(response.content) < 600 and detail.startswith(f'unknown model "{"m" * 40}"… (900000')


@pytest.mark.parametrize("query", ["mood=" + "y" * 8000, "quadrant=" + "q" * 8000, "q=" + "z" * 8000,
                                   "limit=" + "9" * 8000, "z" * 8000 + "=1"],
                         ids=["mood", "quadrant", "q", "limit", "unknown-key"])
def test_a_long_query_parameter_is_never_echoed(client, query):
    for path in ("/api/songs", "/api/playlists"):
        response = client.get(f"{path}?{query}")  # /api/songs ignores a key it does not know
        assert response.status_code == 200 if (path, query[0]) == ("/api/songs", "z") else \
            400 <= response.status_code < 500 and set(response.json()) == {"error", "detail"}
        assert len(response.content) < 600 and "y" * 41 not in response.text and "z" * 41 not in response.text


def test_the_playlist_size_is_bounded(client):
    assert error_of(client.get("/api/playlists?mood=calm&n=201"))[0] == 422
    assert error_of(client.post("/api/playlists", json={"mood": "calm", "n": 1000}))[0] == 422
    assert "no songs" in error_of(client.get("/api/playlists?mood=calm&n=200"))[2]  # in range: the empty index speaks


def test_an_undecodable_upload_is_named_as_the_client_named_it(client):
    """Decoders name the file they opened: the server's copy in its upload folder, never shown."""
    response = client.post("/api/predict", files={"file": ("my song.ogg", b"OggS" + bytes(3000))})
    status, error, detail = error_of(response)
    assert status == 422 and error in ("DecodeError", "TruncatedAudioError"), detail
    assert "moodmap-uploads-" not in detail and "/tmp" not in detail and '"my song.ogg"' in detail, detail


def test_no_error_names_a_path_in_the_upload_folder():
    from moodmap.web.app import _error_reply

    detail = json.loads(_error_reply(422, "DecodeError", "x: '/var/tmp/moodmap-uploads-ab12/c0ffee.ogg': bad; "
                                                          "/tmp/moodmap-uploads-q/9.flac, more").body)["detail"]
    assert detail == "x: 'the upload': bad; the upload, more"


# ------------------------------------------------------------------ leftover upload folders
def owned_folder(temp, name: str, pid: int | None, started=None, marked: bool = True):
    folder = temp / name
    folder.mkdir()
    (folder / "a1b2.ogg").write_bytes(b"OggS upload")
    if marked:
        from moodmap.web.app import _process_identity

        identity = _process_identity(pid) if started is None else {"pid": pid, "started": started}
        (folder / ".moodmap-owner").write_text(json.dumps(identity))
    return folder


def test_only_the_upload_folders_of_gone_servers_are_removed(tmp_path):
    import os
    import subprocess
    import sys

    from moodmap.web.app import _process_identity, remove_leftover_uploads

    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = owned_folder(tmp_path, "moodmap-uploads-dead", gone.pid)  # marked while it ran, then killed
    gone.kill()
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = owned_folder(tmp_path, "moodmap-uploads-live", live.pid)
        mine = owned_folder(tmp_path, "moodmap-uploads-mine", os.getpid())
        reused = owned_folder(tmp_path, "moodmap-uploads-reused", live.pid,  # its pid now names another process
                              started=_process_identity(live.pid)["started"] - 1)
        unmarked = owned_folder(tmp_path, "moodmap-uploads-hand-made", None, marked=False)
        foreign = owned_folder(tmp_path, "elsewhere", gone.pid)
        (tmp_path / "moodmap-uploads-link").symlink_to(dead)
        (tmp_path / "moodmap-uploads-file").write_text("not a folder")
        assert sorted(remove_leftover_uploads(tmp_path)) == sorted([dead, reused])
        assert not dead.exists() and not reused.exists()
        assert all(f.is_dir() and (f / "a1b2.ogg").exists() for f in (alive, mine, unmarked, foreign))
        assert (tmp_path / "moodmap-uploads-file").read_text() == "not a folder"
    finally:
        live.kill()
        live.wait()


def test_a_server_marks_its_upload_folder_with_itself(client):
    import os

    from moodmap.web.app import _process_identity

    owner = json.loads((client.app.state.uploads / ".moodmap-owner").read_text())
    assert owner == _process_identity(os.getpid()) and owner["started"] is not None
