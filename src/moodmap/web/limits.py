"""Request limits enforced before the body is read: a huge upload is refused, not buffered, and a
busy server says so instead of queueing without end.

A declared ``Content-Length`` over the limit gets 413 at once; a body without one (chunked) is
counted as it streams in and cut off with 413 as soon as it passes the limit. Past the number of
requests a kind of work may have in the server at once (running and waiting), a request gets 503
with ``Retry-After`` before any of its body is read or stored.
"""
from __future__ import annotations

import asyncio
import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .guard import RETRY_SECONDS, send_error

MULTIPART_SLACK = 64 * 1024  # form boundaries and fields around an uploaded file itself
QUOTE_CHARS = 40  # the most of a client's text an error quotes
MAX_KEY = 200  # the longest mood, quadrant, song key or curve name a request may give


def quoted(text: str, limit: int = QUOTE_CHARS) -> str:
    """What a client sent, for an error message: at most ``limit`` characters of it in double
    quotes, escaped (control characters, non-ASCII and ``<>&`` as \\u escapes), and how long it was
    when cut — an answer never echoes a request whole."""
    inner = json.dumps(text[:limit]).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return inner if len(text) <= limit else f"{inner}… ({len(text)} characters)"


class BodyTooLarge(HTTPException):
    """The request body passed the limit while streaming in (an HTTP 413, so the app's handlers reply)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class BodyLimit:
    """ASGI middleware: at most ``limit`` (+ ``slack``) bytes of body on ``paths``, except ``skip``.

    ``slack`` is for an upload's form around its file (``MULTIPART_SLACK``); a JSON limit has none,
    so 64 KB is 64 KB."""

    def __init__(self, app: ASGIApp, limit: int, paths: tuple[str, ...], skip: tuple[str, ...] = (),
                 slack: int = 0) -> None:
        self.app, self.limit, self.stated, self.paths, self.skip = app, limit + slack, limit, paths, skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths) or \
                (self.skip and scope["path"].startswith(self.skip)):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _refuse(send, self.stated, 413 if declared.isdigit() else 400)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge(self.stated)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await _refuse(send, self.stated, 413)


async def _refuse(send: Send, limit: int, status: int) -> None:
    if status == 413:
        await send_error(send, 413, "PayloadTooLarge", _too_large(limit), close=True)
    else:
        await send_error(send, 400, "BadRequest", "invalid Content-Length header", close=True)


def _too_large(limit: int) -> str:
    return f"request body larger than the limit of {limit / 2**20:g} MB"


class Admission:
    """ASGI middleware: at most ``limit`` requests whose path matches ``pattern`` in the server at
    once, of which ``running`` (all when None) do their work while the others wait their turn; the
    request past ``limit`` is answered 503 with ``Retry-After`` at once, its body unread (so an
    upload is never stored) and its connection closed. ``what`` names the work in that answer."""

    def __init__(self, app: ASGIApp, pattern: str, limit: int, what: str, running: int | None = None) -> None:
        self.app, self.pattern, self.limit, self.what = app, re.compile(pattern), max(0, limit), what
        self.running, self.inside = running, 0
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.pattern.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.inside >= self.limit:
            await send_error(send, 503, "ServerBusy", f"this server has {self.limit} {self.what} under way or waiting, "
                             f"the most it takes at once; try again in {RETRY_SECONDS} s", close=True,
                             headers=[(b"retry-after", str(RETRY_SECONDS).encode())])
            return
        self.inside += 1
        try:
            if self.running is None:
                await self.app(scope, receive, send)
            else:
                async with self._semaphore():
                    await self.app(scope, receive, send)
        finally:
            self.inside -= 1

    def _semaphore(self) -> asyncio.Semaphore:
        """The turns of the running loop (an app can be served by one loop, then another, in tests)."""
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Semaphore(max(1, self.running or 1)))
        return self._turns[1]
