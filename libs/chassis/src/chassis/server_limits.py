"""The API port's HTTP protocol with bounds on the request head: its target (414), its
header bytes and its header count (431).

Why here: uvicorn's httptools protocol keeps every header line it is sent (llhttp sets no
limit; only uvicorn's h11 protocol has one, `h11_max_incomplete_event_size`), so a client
could make a process hold megabytes per connection, and thousands of header fields, before
any middleware sees the request. Counted as the parser reports each piece, the request is
refused as soon as it passes a bound, with the status RFC 9110 and RFC 6585 name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from chassis.errors import PROBLEM_MEDIA_TYPE, TYPE_BASE

LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class HeadLimits:
    max_url_bytes: int
    max_header_bytes: int
    max_headers: int


class _HeadTooLarge(Exception):
    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head over `limits`."""

    limits = HeadLimits(max_url_bytes=8192, max_header_bytes=16384, max_headers=100)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = 0
        self._header_bytes = 0
        self._header_count = 0
        self._refusal: _HeadTooLarge | None = None

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            limit = self.limits.max_url_bytes
            self._refuse(414, "uri-too-long", f"The request target is over {limit} bytes.")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            limit = self.limits.max_headers
            self._refuse(431, "too-many-headers", f"The request has over {limit} header fields.")
        if self._header_bytes > self.limits.max_header_bytes:
            limit = self.limits.max_header_bytes
            detail = f"The request's header fields are over {limit} bytes."
            self._refuse(431, "headers-too-large", detail)
        super().on_header(name, value)

    def _refuse(self, status: int, kind: str, detail: str) -> None:
        self._refusal = _HeadTooLarge(status, kind, detail)
        # The parser stops at a callback's exception; uvicorn then answers 400, which
        # send_400_response below turns into this refusal.
        raise self._refusal

    def send_400_response(self, msg: str) -> None:
        refusal = getattr(self, "_refusal", None)
        if refusal is None:
            super().send_400_response(msg)
            return
        body = orjson.dumps(
            {
                "type": TYPE_BASE + refusal.kind,
                "title": STATUS_LINE[refusal.status].decode().split(" ", 2)[2].strip(),
                "status": refusal.status,
                "detail": refusal.detail,
            }
        )
        head = (
            f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(STATUS_LINE[refusal.status] + head.encode() + body)
        self._linger()

    def _linger(self) -> None:
        """Close soon, not at once. Closed with unread bytes still arriving (the rest of a
        huge head), a socket answers them with a reset, which can destroy the refusal
        before the client reads it: what is still coming is read and dropped for a moment
        first, as nginx's lingering close does."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client sees the answer end
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if getattr(self, "_lingering", False):
            return  # the rest of a refused request
        super().data_received(data)


def bounded_protocol(limits: HeadLimits, base: type[BoundedHttpProtocol]) -> type:
    """A subclass of `base` with these limits (uvicorn makes the protocol from a class)."""
    return type(base.__name__, (base,), {"limits": limits})
