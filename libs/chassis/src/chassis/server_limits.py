"""The API port's HTTP protocol with bounds on the request head: its target (414), its
header bytes and its header count (431); and admission control's early refusal.

Why here: uvicorn's httptools protocol keeps every header line it is sent (llhttp sets no
limit; only uvicorn's h11 protocol has one, `h11_max_incomplete_event_size`), so a client
could make a process hold megabytes per connection, and thousands of header fields, before
any middleware sees the request. Counted as the parser reports each piece, the request is
refused as soon as it passes a bound, with the status RFC 9110 and RFC 6585 name.

Early refusal: past the process's bound of requests in flight (`chassis.admission.Gate`),
a request whose head is complete is answered 503 from the parser's callback, in one
write, and its body (if any) read and dropped; uvicorn never makes it a request cycle, an
ASGI task or a scope. bench/shed_cost.py (a chassis server bounded at 1, wrk on another
core): ~20 µs of the server's CPU per refusal against 36-49 through the middleware
(docs/performance.md, "What a refusal costs"); under three times the capacity two
refusals come with every page served. Only where the refusal is the request's whole
answer, in order: not behind a pipelined request still being answered, not for
100-continue (the client waits to send its body), not on a connection the request closes
(uvicorn's own path closes it), not for an exempt path. Those go to the middleware,
which refuses them the usual way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from chassis.admission import EXEMPT_PATHS, Gate, wants_html
from chassis.errors import PROBLEM_MEDIA_TYPE, TYPE_BASE

LINGER_SECONDS = 2.0
EXEMPT_TARGETS = frozenset(path.encode() for path in EXEMPT_PATHS)


class _Refused:
    """Where uvicorn keeps its request cycle, after an early refusal: a response already
    complete, so that the request's body is read and dropped (uvicorn's own callbacks
    skip a body once its response is complete) and the next request starts as usual."""

    response_complete = True
    disconnected = False

    class message_event:  # noqa: N801 (uvicorn calls cycle.message_event.set())
        @staticmethod
        def set() -> None:
            return None


REFUSED = _Refused()


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
    """uvicorn's httptools protocol, refusing a request head over `limits`, and any request
    past admission control's bound as soon as its head is read (the early refusal)."""

    limits = HeadLimits(max_url_bytes=8192, max_header_bytes=16384, max_headers=100)
    gate: Gate | None = None  # admission control's count, for the early refusal

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

    def on_headers_complete(self) -> None:
        gate = self.gate
        if gate is not None and gate.in_flight >= gate.limit and self._refusal_is_the_answer():
            gate.shed.inc()
            default = b"".join(
                name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
            )
            self.transport.write(STATUS_LINE[503] + default + gate.wire[wants_html(self.headers)])
            self.cycle = REFUSED  # type: ignore[assignment]
            self.on_response_complete()  # keep-alive timer, as after any answer
            return
        # A refusal just before, in the same read, armed the keep-alive timer: this request
        # is served, so the timer waits for its answer, as uvicorn's own reads do.
        self._unset_keepalive_if_required()
        super().on_headers_complete()

    def _refusal_is_the_answer(self) -> bool:
        cycle = self.cycle
        return (
            (cycle is None or cycle.response_complete)
            and not self.expect_100_continue
            and self.parser.should_keep_alive()
            and not self.parser.should_upgrade()
            and self.url.partition(b"?")[0] not in EXEMPT_TARGETS
        )

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


def bounded_protocol(
    limits: HeadLimits, base: type[BoundedHttpProtocol], gate: Gate | None = None
) -> type:
    """A subclass of `base` with these limits and this admission gate (uvicorn makes the
    protocol from a class)."""
    return type(base.__name__, (base,), {"limits": limits, "gate": gate})
