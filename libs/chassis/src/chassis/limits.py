"""Request limits every service applies before a route sees the request: the body's size
(413), its media type (415) and, for JSON, its nesting depth (400).

Why a middleware of our own: neither uvicorn nor Starlette bounds a body (Starlette's
`request.body()` reads whatever arrives), and FastAPI parses any JSON with the standard
library, whose recursion on a deeply nested document ends in a RecursionError (answered as
a bare 400) after burning CPU. The size is counted as the body streams in, not only taken
from Content-Length, so a chunked body cannot slip past it.

A refusal is answered by the app's own handler of `HTTPException` (problem+json in an API,
an HTML page at the edge), so every service refuses in its usual voice. Array lengths are
the models' business (`Field(max_length=...)` on every list a request carries: the contract
then says it too); the header section is bounded by the server (`chassis.server_limits`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.errors import documented
from chassis.middleware import HTTPMiddleware

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# A JSON string (escapes included), removed before the brackets are counted: a bracket
# inside a string is text, not structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


class RequestRefused(HTTPException):
    """A request refused by a limit; `kind` becomes its problem type."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(status, detail)
        self.kind = kind


@dataclass(frozen=True)
class BodyLimits:
    """What a request body may be here. `media_types`: JSON for an API, form encodings at
    the edge; a body of any other type is refused with 415 before a route parses it."""

    max_bytes: int
    max_json_depth: int
    media_types: tuple[str, ...] = (JSON,)

    def too_large(self) -> RequestRefused:
        return RequestRefused(
            413, "body-too-large", f"The request body is over {self.max_bytes} bytes."
        )

    def unsupported(self, media_type: str) -> RequestRefused:
        given = f"'{media_type}'" if media_type else "no Content-Type"
        return RequestRefused(
            415,
            "unsupported-media-type",
            f"The request body must be {' or '.join(self.media_types)}; it was {given}.",
        )

    def too_deep(self) -> RequestRefused:
        return RequestRefused(
            400,
            "json-too-deep",
            f"The JSON body nests objects and arrays over {self.max_json_depth} levels deep.",
        )


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON `body` nests arrays and objects more than `limit` levels deep,
    judged without parsing it, in C-speed passes over the text (at most `limit` + 1).

    Strings out, every bracket made a square one (depth does not care which kind), then
    the innermost pairs removed once per round. After `k` rounds, a run of `r` opening
    brackets left means a depth of at least `r + k` (the innermost of them still had `k`
    levels below it), so a run of `limit + 1 - k` settles it early: 64 KiB of `[` is
    refused after one search, not 32 rounds. A text whose brackets do not pair up is left to
    the parser, which says what is wrong with it."""
    skeleton = _STRING.sub(b"", body).translate(_SQUARE, _NOT_BRACKETS)
    for removed in range(limit + 1):
        if b"[" * (limit + 1 - removed) in skeleton:
            return True
        shorter = skeleton.replace(b"[]", b"")
        if len(shorter) == len(skeleton):
            return False  # all gone, or unbalanced: not JSON, and the parser will say so
        skeleton = shorter
    return False  # pragma: no cover - the last round's search finds any bracket left


class RequestLimits(HTTPMiddleware):
    """Refuses a body that is too large, of a type the service does not take, or (JSON)
    nested too deep. A JSON body is read here whole (it is bounded) and checked before the
    route parses it; any other accepted body is counted as the route reads it."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        super().__init__(app)
        self.limits = limits

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        length, chunked, media_type = _body_headers(scope)
        if not length and not chunked:  # no body (no Content-Length, or 0)
            await self.app(scope, receive, send)
            return
        limits = self.limits
        if media_type not in limits.media_types:
            await refuse(scope, receive, send, limits.unsupported(media_type))
            return
        if length is not None and length > limits.max_bytes:
            await refuse(scope, receive, send, limits.too_large())
            return
        if media_type != JSON:
            await self.app(scope, _counted(receive, limits), send)
            return
        body = await _read_at_most(receive, limits.max_bytes)
        if body is None:
            await refuse(scope, receive, send, limits.too_large())
        elif nested_deeper_than(body, limits.max_json_depth):
            await refuse(scope, receive, send, limits.too_deep())
        else:
            await self.app(scope, _replay(body, receive), send)


def _body_headers(scope: Scope) -> tuple[int | None, bool, str]:
    length: int | None = None
    chunked = False
    media_type = ""
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value)  # the server refused a request whose length is no number
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"content-type":
            media_type = value.decode("latin-1").split(";", 1)[0].strip().lower()
    return length, chunked, media_type


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client left; the route will see it leave too
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: the disconnect, when it comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _counted(receive: Receive, limits: BodyLimits) -> Receive:
    """`receive`, raising 413 once the body passes the limit: the route reading it stops
    there, and the app's handler answers."""
    size = 0

    async def counting() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limits.max_bytes:
                raise limits.too_large()
        return message

    return counting


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: RequestRefused) -> None:
    """Answer with the app's own handler of HTTP errors, as if a route had raised it."""
    handlers: dict[Any, Callable[..., Any]] = getattr(scope.get("app"), "exception_handlers", {})
    handler = handlers.get(RequestRefused) or handlers.get(HTTPException)
    if handler is None:  # pragma: no cover - create_app installs one
        raise refusal
    answer = handler(Request(scope, receive), refusal)
    response = await answer if inspect.isawaitable(answer) else answer
    await response(scope, receive, send)


def document_refusals(routes: Iterable[BaseRoute]) -> None:
    """Add the limits' answers to the contract of every route that can meet them, unless
    the route documents that status itself: the body's to a route that takes one, the
    server's 414 to a route whose path or query carries values (a caller chooses their
    length), its 431 to a route that reads a header parameter."""
    body = {
        400: documented("The JSON body nests deeper than the service takes"),
        413: documented("The request body is larger than the service takes"),
        415: documented("The request body is not of a type the route takes"),
    }
    target = {414: documented("The request's path and query are longer than the service takes")}
    head = {431: documented("The request's headers are larger than the service takes")}
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        takes = route.dependant
        answers = {
            **(body if route.body_field is not None else {}),
            **(target if takes.path_params or takes.query_params else {}),
            **(head if takes.header_params else {}),
        }
        for status, answer in answers.items():
            if status not in route.responses and str(status) not in route.responses:
                route.responses[status] = answer
