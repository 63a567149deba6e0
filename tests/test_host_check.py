"""The Host check of `moodmap serve`, as a table: a real server on loopback asked with every form of
``Host`` a browser, a DNS-rebinding page or a hand-made request could send (raw requests, so an
empty, a missing or a doubled Host can be sent too).

What is decided here:
- names are compared case-insensitively (DNS names are): ``LocalHost:PORT`` is answered;
- the port is not part of the check (a page cannot rebind a port, only a name);
- a name is compared as given: ``localhost.`` (a trailing dot) is not ``localhost`` and is refused,
  like any other spelling of a loopback address (``127.1``, ``[::ffff:127.0.0.1]``,
  ``[0:0:0:0:0:0:0:1]``): browsers send the name the user typed, and the server answers only to
  the names it is known by;
- anything that is not ``name[:digits]`` or ``[IPv6][:digits]`` is refused: userinfo, text after
  the ``]``, a port that is not a number, an empty Host, no Host, two Host headers.
(tests/test_web_guard_mutants.py asks the app in process; this asks the program a user runs.)
"""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from helpers import free_port  # noqa: E402
from test_user_commands import MOODMAP, stop_server  # noqa: E402

ALLOWED = ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "127.0.0.1", "localhost", "[::1]",
           "LocalHost:{port}", "LOCALHOST", "[::1]:1", "localhost:"]
REFUSED = ["localhost.evil.example", "localhost.evil.example:{port}", "LOCALHOST.EVIL.EXAMPLE:{port}",
           "127.0.0.1.nip.io:{port}", "evil.example", "evil.example:{port}", "localhost-evil.example:{port}",
           "localhost.:{port}", "127.0.0.1.:{port}",  # a trailing dot
           "user@localhost:{port}", "localhost@evil.example:{port}", "evil.example@127.0.0.1:{port}",  # userinfo
           "[::1]evil.example", "[::1].evil.example:{port}", "[::1]@evil.example", "[::1", "::1]:{port}",
           "[::2]:{port}", "[::ffff:127.0.0.1]:{port}", "[0:0:0:0:0:0:0:1]:{port}", "[evil.example]:{port}",
           "127.1:{port}", "2130706433:{port}", "127.0.0.2:{port}",
           "localhost:{port}:{port}", "localhost:http", "localhost:{port}evil.example", "localhost%2eevil.example",
           "localhost/evil.example", "", " "]


def start(host: str, cwd: Path) -> tuple[subprocess.Popen, int]:
    """``moodmap serve --host HOST`` (one worker) on a free port, once it accepts connections."""
    port = free_port()
    server = subprocess.Popen([MOODMAP, "serve", "--host", host, "--port", str(port), "--workers", "1"], cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout.readline().startswith("moodmap at http://"), server.communicate()
    for _ in range(100):  # the address is said on start-up, a moment before the socket listens
        try:
            socket.create_connection((host, port), timeout=5).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    stop_server(server)
    pytest.fail(f"moodmap serve --host {host} did not accept connections within 5 s")


def ask(address: str, port: int, host_lines: list[str]) -> tuple[int, dict]:
    """GET /api/health with exactly these Host header lines; the status and the JSON answer."""
    head = "GET /api/health HTTP/1.1\r\n" + "".join(f"Host: {h}\r\n" for h in host_lines) + "Connection: close\r\n\r\n"
    with socket.create_connection((address, port), timeout=30) as connection:
        connection.sendall(head.encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    return int(status_line.split()[1]), parsed


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    """A server bound to 127.0.0.1 (the default)."""
    server, port = start("127.0.0.1", tmp_path_factory.mktemp("host-check"))
    yield "127.0.0.1", port
    stop_server(server)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("host", ALLOWED)
def test_a_name_the_server_is_known_by_is_answered(loopback, host):
    address, port = loopback
    status, body = ask(address, port, [host.format(port=port)])
    assert status == 200 and body["status"] == "ok", (status, body)


@pytest.mark.parametrize("host", REFUSED)
def test_any_other_host_is_refused(loopback, host):
    address, port = loopback
    status, body = ask(address, port, [host.format(port=port)])
    assert (status, body.get("error")) == (403, "ForbiddenHost"), (status, body)


@pytest.mark.parametrize("hosts", [[], ["evil.example", "localhost:{port}"], ["localhost:{port}", "evil.example"],
                                   ["localhost:{port}", "localhost:{port}"]],
                         ids=["no Host", "foreign then known", "known then foreign", "known twice"])
def test_a_missing_or_doubled_host_is_refused(loopback, hosts):
    address, port = loopback
    status, _ = ask(address, port, [h.format(port=port) for h in hosts])
    assert status in (400, 403), status  # the HTTP parser (400) or the guard (403): never answered


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_server_bound_to_ipv6_loopback_answers_to_its_names_only(tmp_path):
    server, port = start("::1", tmp_path)
    try:
        for host in (f"[::1]:{port}", "[::1]", f"localhost:{port}", f"127.0.0.1:{port}"):
            assert ask("::1", port, [host])[0] == 200, host
        for host in (f"[::1]evil.example:{port}", f"evil.example:{port}", f"[::2]:{port}", "::1]"):
            assert ask("::1", port, [host]) == (403, ask("::1", port, ["evil.example"])[1]), host
    finally:
        stop_server(server)


@pytest.mark.parametrize("hosts", [[b"evil.example", b"localhost"], [b"localhost", b"evil.example"],
                                   [b"localhost", b"localhost"], []],
                         ids=["foreign then known", "known then foreign", "known twice", "none"])
def test_the_guard_itself_refuses_two_hosts_or_none(hosts):
    """uvicorn's HTTP parser refuses a doubled Host before the app sees it; another server (httptools,
    a proxy) may pass both on, and the guard must not pick the one it likes."""
    from moodmap.web.guard import RequestGuard

    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/api/health", "headers": [(b"host", h) for h in hosts]}
    asyncio.run(RequestGuard(app, ("127.0.0.1",))(scope, receive, send))
    assert not reached and sent[0]["status"] == 403
    assert json.loads(sent[1]["body"])["error"] == "ForbiddenHost"
