"""Calls to a service hosted in this very process (the in-process mode, `chassis.host`).

The benchmark's floor: the same services, the same code and databases, only the transport
between them changes. The host gives each client of a service it hosts a transport to
that service's app (`chassis.client_inprocess`), which hands the call to `Target.call()`
instead of the network: the callee's ASGI app is invoked directly with
exactly the headers the network call would carry (service token, deadline, request id,
traceparent), under the same timeouts and retries; its middleware and `callers()` checks run
unchanged, with the caller's verified identity in the ASGI TLS extension where mTLS would
put it (the host knows for sure who calls: the caller's own credentials).

Written here rather than taken from httpx's `ASGITransport`: that one builds an httpx
request and response around every call, reads the body through an async byte stream and
wraps the app in an anyio task group. Measured on a trivial Starlette route (2 cores, CPU
time per call, the app's own work included): ~430 us through `ASGITransport`, ~85 us
through this; an aiohttp hop over loopback costs ~260 us, so with httpx the floor would be
no floor. This is one scope dict, two small callables and one task.

The callee runs as its own task in an empty `contextvars.Context`: like a process across
the network it sees nothing of the caller but the headers, and nothing it sets (request
id, trace, deadline, log context) leaks back into the caller. If the caller stops waiting
(its timeout, its own cancellation) the callee goes on, as a server does after its client
hung up, and sees `http.disconnect`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

# What uvicorn logs when an app fails, under the same logger, so both modes log alike.
_server_log = logging.getLogger("uvicorn.error")


class Unreachable(Exception):
    """The callee is hosted here but not serving (starting or stopped): a refused connection
    over the network; or it failed mid-answer: a dropped connection. `reason` says which,
    in the words of the network client (aiohttp's exception names)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Hosted:
    """A service's app hosted in this process; `serving` opens and closes it like a port:
    calls are refused until it is set, as by a port that is not open yet."""

    service: str
    app: ASGIApp
    serving: bool = False


_running: set[asyncio.Task[Any]] = set()  # callees whose callers stopped waiting


async def finish_running(timeout: float) -> None:
    """Wait (at most `timeout` seconds) for callees whose callers stopped waiting."""
    if _running:
        await asyncio.wait(set(_running), timeout=timeout)


class Target:
    """One client's way to a hosted service: what its network calls would have said about
    the connection (scheme, host, the caller's certificate identity), worked out once."""

    def __init__(self, hosted: Hosted, base_url: str, client_identity: str | None) -> None:
        self.hosted = hosted
        parts = urlsplit(base_url)
        self.scheme = parts.scheme or "http"
        self.prefix = parts.path.rstrip("/")
        default_port = 443 if self.scheme == "https" else 80
        self.server = (parts.hostname or "127.0.0.1", parts.port or default_port)
        self.host_header = parts.netloc.encode("latin-1")
        self.extensions = {"tls": {"client_identity": client_identity}} if client_identity else {}

    async def call(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request to the hosted app; its status, headers (lowercase) and body.

        Raises TimeoutError after `timeout` seconds, `Unreachable` when it is not serving
        or dropped the request; an exception in the app answers 500, as uvicorn does.
        """
        if not self.hosted.serving:
            raise Unreachable("ClientConnectorError")
        raw_path, _, query_string = (self.prefix + path).partition("?")
        if query:
            query_string = (query_string + "&" if query_string else "") + urlencode(query)
        raw_headers = [(b"host", self.host_header)]
        raw_headers += [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        if body is not None:
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": self.scheme,
            "path": unquote(raw_path),
            "raw_path": raw_path.encode(),
            "query_string": query_string.encode(),
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 0),
            "server": self.server,
            "extensions": self.extensions,
            "state": {},
        }
        exchange = _Exchange(body or b"")
        task = asyncio.get_running_loop().create_task(
            exchange.run(self.hosted.app, scope), context=contextvars.Context()
        )
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(task)
        finally:
            if not task.done():
                exchange.hang_up()
                _running.add(task)
                task.add_done_callback(_running.discard)


class _Exchange:
    """One request and its answer, as the server side of a connection sees them."""

    __slots__ = ("_closed", "_read", "body", "chunks", "complete", "headers", "status")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self._read = False
        self._closed: asyncio.Event | None = None  # made only if the app listens for it
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.complete = False

    async def receive(self) -> Message:
        if not self._read:
            self._read = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if self._closed is None:
            self._closed = asyncio.Event()
            if self.complete:
                self._closed.set()
        await self._closed.wait()  # after the answer, or once the caller hung up
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", ()))
        elif kind == "http.response.body" and not self.complete:
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
                if self._closed is not None:
                    self._closed.set()

    def hang_up(self) -> None:
        if self._closed is None:
            self._closed = asyncio.Event()
        self._closed.set()

    async def run(self, app: ASGIApp, scope: Scope) -> tuple[int, dict[str, str], bytes]:
        try:
            await app(scope, self.receive, self.send)
        except Exception as error:
            _server_log.error("Exception in ASGI application\n", exc_info=error)
            if self.status and not self.complete:
                raise Unreachable("ServerDisconnectedError") from None
            if not self.status:
                return 500, {"content-type": "text/plain; charset=utf-8"}, b"Internal Server Error"
        if not self.complete:
            if self.status:  # an answer cut short: the network client sees the connection drop
                raise Unreachable("ServerDisconnectedError")
            _server_log.error("ASGI callable returned without starting response.")
            return 500, {"content-type": "text/plain; charset=utf-8"}, b"Internal Server Error"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.headers}
        return self.status, headers, b"".join(self.chunks)
