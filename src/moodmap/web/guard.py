"""What stands between ``moodmap serve`` on a laptop and the web pages that laptop visits.

A page anywhere can make the browser send requests to 127.0.0.1; it cannot read the
answers unless the server lets it. So the server:

- answers only to a ``Host`` it is known by (loopback names, the address it is bound to,
  ``--allowed-host`` names; in any case, with any port; one Host header, no userinfo): a page
  whose DNS name is re-pointed at 127.0.0.1 (DNS rebinding) is refused, so it cannot read the
  library;
- refuses requests that change or cost something (POST …) from another origin — scheme, name
  and port: an ``Origin`` of another name, or of a known name on another port (another local app
  or dev server on 127.0.0.1), ``Sec-Fetch-Site`` other than ``same-origin`` or ``none``
  (``same-site`` is another port) — a page cannot spend the server's CPU;
- marks every answer ``nosniff`` (audio is never run as HTML), forbids framing, and gives
  the page a Content-Security-Policy that allows only its own scripts;
- cuts off a client whose request body stalls (a connection held open by dribbling);
- answers a request the server stops under (SIGTERM) with a JSON 503, not a plain-text 500.
"""
from __future__ import annotations

import asyncio
import json
import re
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
API_DOCS = ("/docs", "/redoc", "/openapi.json")  # and /docs-assets: their scripts, served from the package
BODY_SECONDS = 10  # the longest pause allowed between two pieces of a request body


class SlowBody(HTTPException):
    """A client stopped sending its request body (an HTTP 408, so the app's handlers reply)."""

    def __init__(self) -> None:
        super().__init__(408, f"the request body stalled for {BODY_SECONDS:g} s")


class RequestGuard:
    """ASGI middleware: Host and Origin checks, and the security headers, on every request."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        # a name empty once its brackets go ("[]") would let in an empty Host and every malformed one
        self.hosts = {name for name in (h.strip("[]").lower() for h in (*LOOPBACK, *allowed_hosts)) if name}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"]
        own = (scope.get("scheme", "http"), (scope.get("server") or (None, None))[1])  # where it was reached
        refusal = self._refusal(scope["method"], headers, hosts, own)
        if refusal:
            await send_error(send, 403, *refusal)
            return
        policy = not scope["path"].startswith(API_DOCS)  # the docs pages start Swagger UI with an inline script
        started, body_done = False, False

        async def secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = HEADERS + ([(b"content-security-policy", CSP.encode())] if policy else [])
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        async def patient() -> Message:
            """The request body, a piece at most BODY_SECONDS apart (a client dribbling it is cut off);
            after the body, waiting for a disconnect is not timed (a long audio stream)."""
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), BODY_SECONDS)
            except asyncio.TimeoutError:
                raise SlowBody() from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, patient, secured)
        except SlowBody:
            if not started:
                await send_error(send, 408, "RequestTimeout", f"the request body stalled for {BODY_SECONDS:g} s", close=True)
        except asyncio.CancelledError:  # the server is stopping (SIGTERM) with this request unanswered
            if started:
                raise
            await send_error(send, 503, "ServerStopping", "the server stopped before this request was answered; "
                                                          "send it again once it is back", close=True)

    def _refusal(self, method: str, headers: dict[str, str], hosts: list[str],
                 own: tuple[str, int | None]) -> tuple[str, str] | None:
        """Why this request is refused (error, detail), or None. Neither names what was sent."""
        # Exactly one Host: of two, the check and whatever reads the request later could each take another.
        if len(hosts) != 1 or _hostname(hosts[0]) not in self.hosts:
            return "ForbiddenHost", ("this server answers only to the names it is known by (see --allowed-host); "
                                     "a foreign Host is how a web page would reach it through DNS rebinding")
        if method.upper() in SAFE_METHODS:
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


async def send_error(send: Send, status: int, error: str, detail: str, close: bool = False) -> None:
    """Answer with moodmap's JSON error shape from ASGI middleware, before the app has seen the
    request (``close``: and end the connection, whose body was not read)."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *HEADERS]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"connection", b"close")] if close else [])})
    await send({"type": "http.response.body", "body": body})


HEADER_SECONDS = 10  # the longest a connection may take to send a request's head


def header_deadline_protocol():
    """uvicorn's HTTP/1.1 protocol with a deadline for request heads: a connection that has not sent
    a complete head within HEADER_SECONDS of opening, or of its last answer, is closed (uvicorn
    has none, so a client dribbling headers held a connection forever)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def _arm(self) -> None:
            self.loop.call_later(HEADER_SECONDS, self._expire, self.server_state.total_requests)

        def _expire(self, answered: int) -> None:
            """Close when still no complete head since the deadline was armed."""
            idle = self.conn.their_state is h11.IDLE and answered == self.server_state.total_requests
            if idle and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
