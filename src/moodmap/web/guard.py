"""What stands between ``moodmap serve`` on a laptop and the web pages that laptop visits.

A page anywhere can make the browser send requests to 127.0.0.1; it cannot read the
answers unless the server lets it. So the server:

- answers only to a ``Host`` it is known by (loopback names, the address it is bound to,
  ``--allowed-host`` names; in any case, with any port; one Host header, no userinfo): a page
  whose DNS name is re-pointed at 127.0.0.1 (DNS rebinding) is refused, so it cannot read the
  library;
- refuses requests that change or cost something — every POST …, and every request to ``/api/``,
  GETs included — from another origin: scheme, name and port: an ``Origin`` of another name, or
  of a known name on another port (another local app or dev server on 127.0.0.1),
  ``Sec-Fetch-Site`` other than ``same-origin`` or ``none`` (``same-site`` is another port) — a
  page cannot spend the server's CPU;
- marks every answer ``nosniff`` (audio is never run as HTML), forbids framing, and gives every
  answer a Content-Security-Policy that allows only moodmap's own scripts (the API docs pages:
  their own inline scripts too, by hash), its own refusals included, each header once;
- cuts off a client whose request body stalls, or arrives slower than a total time allows
  (a connection held open by dribbling); a connection that does not send its request's head in
  time is closed, each on its own clock; past a number of open connections a new one is answered
  503 and closed at once, so a flood of them cannot use up the server's open files;
- answers a request the server stops under (SIGTERM) with a JSON 503, not a plain-text 500.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"), (b"cross-origin-resource-policy", b"same-origin")]
# The API docs pages start Swagger UI and ReDoc with inline scripts and styles: their policy allows
# those scripts by hash (computed from each page as it is sent), inline styles, and ReDoc's search worker.
DOCS_PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect")
DOCS_CSP = ("default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'; object-src 'none'")
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
WORK = "/api/"  # every endpoint under it does work (reads the index, analyses, builds): checked like a POST
BODY_SECONDS = 10  # the longest pause allowed between two pieces of a request body
BODY_RATE = 64 * 1024  # and the whole body within BODY_SECONDS + 1 s per BODY_RATE bytes of it (a total time)


class SlowBody(HTTPException):
    """A client stopped sending its request body, or sends it too slowly (an HTTP 408, so the app's
    handlers reply)."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail)


def _stalled() -> str:
    return f"the request body stalled for {BODY_SECONDS:g} s"


def _too_slow(received: int) -> str:
    return (f"the request body came too slowly: {received} bytes, past the {BODY_SECONDS:g} s (+ 1 s per "
            f"{BODY_RATE // 1024} KB) a body may take")


class RequestGuard:
    """ASGI middleware: Host and Origin checks, and the security headers, on every request."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        # a name empty once its brackets go ("[]") would let in an empty Host and every malformed one
        self.hosts = {name for name in (h.strip("[]").lower() for h in (*LOOPBACK, *allowed_hosts)) if name}

    # The send and receive wrappers are closures sharing one request's state (started, held, the body's
    # clock); splitting them out is a per-request class, not a small extraction.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"]
        own = (scope.get("scheme", "http"), (scope.get("server") or (None, None))[1])  # where it was reached
        refusal = self._refusal(scope["method"], scope["path"], headers, hosts, own)
        if refusal:
            await send_error(send, 403, *refusal)
            return
        docs = scope["path"] in DOCS_PAGES
        started, body_done, held, parts = False, False, None, []

        async def secured(message: Message) -> None:
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                if docs:  # held until its body is known: the policy names the page's inline scripts
                    held = message
                    return
                message = _marked(message, CSP)
            elif held is not None and message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                page = b"".join(parts)
                hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(code).digest()).decode()}'"
                                  for code in INLINE_SCRIPT.findall(page))
                await send(_marked(held, DOCS_CSP.format(hashes=hashes)))
                held, message = None, {**message, "body": page}
            await send(message)

        began, received = None, 0

        async def patient() -> Message:
            """The request body, a piece at most BODY_SECONDS apart and the whole of it within
            BODY_SECONDS + 1 s per BODY_RATE bytes from the first read (a client dribbling it is cut
            off either way); after the body, waiting for a disconnect is not timed (a long audio stream)."""
            nonlocal body_done, began, received
            if body_done:
                return await receive()
            now = time.monotonic()
            began = now if began is None else began
            wait = max(0.0, min(BODY_SECONDS, began + BODY_SECONDS + received / BODY_RATE - now))
            try:
                message = await asyncio.wait_for(receive(), wait)
            except asyncio.TimeoutError:  # a whole pause (its 1 % spares the clock's rounding), or the total
                raise SlowBody(_stalled() if wait >= 0.99 * BODY_SECONDS else _too_slow(received)) from None
            received += len(message.get("body", b""))
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, patient, secured)
        except SlowBody as slow:
            if not started:
                await send_error(send, 408, "RequestTimeout", str(slow.detail), close=True)
        except asyncio.CancelledError:  # the server is stopping (SIGTERM) with this request unanswered
            if started:
                raise
            await send_error(send, 503, "ServerStopping", "the server stopped before this request was answered; "
                                                          "send it again once it is back", close=True)

    def _refusal(self, method: str, path: str, headers: dict[str, str], hosts: list[str],
                 own: tuple[str, int | None]) -> tuple[str, str] | None:
        """Why this request is refused (error, detail), or None. Neither names what was sent."""
        # Exactly one Host: of two, the check and whatever reads the request later could each take another.
        if len(hosts) != 1 or _hostname(hosts[0]) not in self.hosts:
            return "ForbiddenHost", ("this server answers only to the names it is known by (see --allowed-host); "
                                     "a foreign Host is how a web page would reach it through DNS rebinding")
        if method.upper() in SAFE_METHODS and not path.startswith(WORK):  # the page, its scripts, the docs
            return None
        origin = headers.get("origin")
        if origin is not None and not self._own_origin(origin, hosts[0], own):
            return "ForbiddenOrigin", "requests that change or cost something are accepted only from moodmap's own page"
        if headers.get("sec-fetch-site", "none") not in ("same-origin", "none"):
            return "ForbiddenOrigin", "requests that change or cost something are accepted only from moodmap's own page"
        return None

    def _own_origin(self, origin: str, host: str, own: tuple[str, int | None]) -> bool:
        """Scheme, name and port: http(s), a name this server is known by, and where the request came
        to — the server's own scheme and port (``own``), or the port in ``Host`` (a proxy's public one)."""
        try:
            parts, reached = urlsplit(origin), urlsplit(f"//{host.strip()}")
            default = DEFAULT_PORTS.get(parts.scheme)
            port = parts.port or default
            return default is not None and _hostname(parts.netloc) in self.hosts and \
                ((parts.scheme, port) == own or port == (reached.port or default))
        except ValueError:  # a port that is not a number, or out of range
            return False


# A Host header or an origin's netloc: [IPv6][:port], name[:port], or a bare IPv6 address; the port digits only.
HOST_FORM = re.compile(r"\[(?P<bracketed>[^\[\]]*)\](?::\d*)?|(?P<name>[^\[\]@:/\\\s]*)(?::\d*)?|(?P<bare>[0-9a-f:.]*)")


def _hostname(host: str) -> str:
    """The name part of a Host header or an origin's netloc (no port, no IPv6 brackets), lower-case;
    "" (a name no server is known by) for anything else: userinfo, text after ``]``, a port that
    is not a number."""
    form = HOST_FORM.fullmatch(host.strip().lower())
    return next(name for name in form.groups() if name is not None) if form else ""


def _marked(start: Message, policy: str) -> Message:
    """A response start with the security headers and ``policy`` added, each only where the answer
    does not already carry it (a refusal from inside the app is marked once, not twice)."""
    present = {name.lower() for name, _ in start.get("headers", [])}
    extra = [(k, v) for k, v in (*HEADERS, (b"content-security-policy", policy.encode())) if k not in present]
    return {**start, "headers": [*start.get("headers", []), *extra]}


async def send_error(send: Send, status: int, error: str, detail: str, close: bool = False,
                     headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Answer with moodmap's JSON error shape from ASGI middleware, before the app has seen the
    request (``close``: and end the connection, whose body was not read)."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    start = _marked({"type": "http.response.start", "status": status,
                     "headers": head + ([(b"connection", b"close")] if close else [])}, CSP)
    await send(start)
    await send({"type": "http.response.body", "body": body})


def error_bytes(status: int, phrase: str, error: str, detail: str,
                headers: Iterable[tuple[bytes, bytes]] = ()) -> bytes:
    """The same answer as raw HTTP/1.1 bytes, for a connection refused before any request is read."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    start = _marked({"headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                 *headers, (b"connection", b"close")]}, CSP)
    lines = [f"HTTP/1.1 {status} {phrase}".encode(), *(k + b": " + v for k, v in start["headers"])]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


HEADER_SECONDS = 10  # the longest a connection may take to send a request's head
MAX_CONNECTIONS = 100  # open connections at most (and at most a quarter of the open files the process may have)
RETRY_SECONDS = 5  # what a busy server's Retry-After says


def _open_files() -> int | None:
    """The process's soft limit on open files (None: no limit, or none to read)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def connection_cap() -> int:
    """How many connections the server keeps open at once: MAX_CONNECTIONS, and at most a quarter
    of the process's open-file limit, so the server's own files (the index, uploads, its workers'
    pipes) and the connections being accepted and refused always find a descriptor."""
    soft = _open_files()
    return MAX_CONNECTIONS if soft is None else max(1, min(MAX_CONNECTIONS, soft // 4))


def accept_backlog() -> int:
    """How many connections the server accepts in one go (asyncio accepts up to its backlog before
    any of them is refused): an eighth of the open-file limit, at most uvicorn's 2048, so a burst of
    connections past the cap cannot use up the descriptors either."""
    soft = _open_files()
    return 2048 if soft is None else max(16, min(2048, soft // 8))


def header_deadline_protocol():
    """uvicorn's HTTP/1.1 protocol with a deadline for request heads and a cap on open connections.

    A connection that has not sent a complete head within HEADER_SECONDS of opening, or of its own
    last answer, is closed (uvicorn has none, so a client dribbling headers held a connection
    forever); each connection keeps its own clock, so other clients' requests never stop it. A
    connection past ``connection_cap()`` is answered 503 (JSON, Retry-After) and closed as soon as
    it opens, so a flood of connections never runs the process out of open files (EMFILE)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    cap = connection_cap()
    busy = error_bytes(503, "Service Unavailable", "TooManyConnections",
                       f"this server keeps at most {cap} connections open; try again in a few seconds",
                       [(b"retry-after", str(RETRY_SECONDS).encode())])

    class HeaderDeadline(H11Protocol):
        answered, timer = 0, None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > cap:
                transport.write(busy)
                transport.close()
                return
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self.answered += 1
            self._arm()

        def connection_lost(self, exc) -> None:
            if self.timer is not None:
                self.timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_later(HEADER_SECONDS, self._expire, self.answered)

        def _expire(self, answered: int) -> None:
            """Close when this connection still has no complete head since the deadline was armed."""
            idle = self.conn.their_state is h11.IDLE and answered == self.answered
            if idle and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
