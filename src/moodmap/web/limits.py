"""Request body limits enforced before the body is read: a huge upload is refused, not buffered.

A declared ``Content-Length`` over the limit gets 413 at once; a body without one
(chunked) is counted as it streams in and cut off with 413 as soon as it passes the limit.
"""
from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .guard import send_error

MULTIPART_SLACK = 64 * 1024  # form boundaries and fields around the file itself


class BodyTooLarge(HTTPException):
    """The request body passed the limit while streaming in (an HTTP 413, so the app's handlers reply)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class BodyLimit:
    """ASGI middleware: at most ``limit`` (+ multipart slack) bytes of body on ``paths``, except ``skip``."""

    def __init__(self, app: ASGIApp, limit: int, paths: tuple[str, ...], skip: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.paths, self.skip = app, limit + MULTIPART_SLACK, paths, skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths) or \
                (self.skip and scope["path"].startswith(self.skip)):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _refuse(send, self.limit, 413 if declared.isdigit() else 400)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await _refuse(send, self.limit, 413)


async def _refuse(send: Send, limit: int, status: int) -> None:
    if status == 413:
        await send_error(send, 413, "PayloadTooLarge", _too_large(limit), close=True)
    else:
        await send_error(send, 400, "BadRequest", "invalid Content-Length header", close=True)


def _too_large(limit: int) -> str:
    return f"request body larger than the limit of {(limit - MULTIPART_SLACK) / 2**20:g} MB"
