"""Admission control: a process serves at most `limit` requests at once and refuses the
excess at once with 503, `Retry-After` and a problem+json body.

Why refuse rather than queue: a request queued behind a full process waits for the ones
ahead of it, then for its own work; past the process's capacity the queue only grows, and
every request in it ends in its caller's timeout having cost a share of CPU first. A 503
answered in microseconds costs almost nothing, tells the caller to come back after
`Retry-After`, and keeps the requests that were admitted inside their deadlines (the
goodput). The count is per process: each replica protects itself, with no coordination.

A browser asking for a page gets the same refusal as a short HTML page in words.

The outermost middleware of the API app (outside the request context): a refusal makes
no span, no log line and no route match, only `mosaic_http_server_requests_shed`. Ops
endpoints are on the ops port, another app; they are exempt here too, by path, for a
platform that probes the API port (Cloud Run).

Most refusals never reach the middleware: the HTTP protocol (`chassis.server_limits`)
reads the same `Gate` once a request's head is parsed and, past the bound, writes the
refusal in one write from the parser's callback: no ASGI task, no scope, no middleware.
The middleware still counts every admitted request, and refuses what the protocol leaves
to it (a request pipelined behind another, one expecting 100-continue, one closing its
connection).
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from chassis import metrics
from chassis.errors import PROBLEM_MEDIA_TYPE, Problem

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
BUSY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>The shop is busy</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>The shop is very busy right now</h1>
<p>Nothing you did went wrong, and nothing was lost: please try again in {seconds} s.</p>
</body></html>
"""

Headers = list[tuple[bytes, bytes]]


class Gate:
    """The process's count of requests in flight and its ready-made refusals: shared by the
    middleware (which counts) and the HTTP protocol's early refusal (`server_limits`)."""

    def __init__(self, *, limit: int, retry_after: int, service: str) -> None:
        self.limit = limit
        self.in_flight = 0
        self.shed = metrics.http_server_shed.labels(service)
        self.gauge = metrics.http_server_in_flight.labels(service)
        problem = Problem(
            503,
            "overloaded",
            f"The {service or 'service'} is at capacity right now; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
        # Made once: a refusal must cost next to nothing. A browser (its Accept names
        # text/html: the shop's pages) gets a page in words rather than JSON.
        page = BUSY_PAGE.format(seconds=retry_after).encode()
        self.refusals = {
            False: _refusal(orjson.dumps(problem.body()), PROBLEM_MEDIA_TYPE, retry_after),
            True: _refusal(page, "text/html; charset=utf-8", retry_after),
        }
        # The same refusals as bytes on the wire, after the status line and uvicorn's
        # default headers (its Date): what the protocol writes in one write.
        self.wire = {
            html: b"".join(name + b": " + value + b"\r\n" for name, value in headers)
            + b"\r\n"
            + body
            for html, (headers, body) in self.refusals.items()
        }


class AdmissionControl:
    """At most `gate.limit` HTTP requests in flight; the next ones get 503 + Retry-After."""

    def __init__(self, app: ASGIApp, *, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        gate = self.gate
        if gate.in_flight >= gate.limit:
            gate.shed.inc()
            headers, body = gate.refusals[wants_html(scope["headers"])]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        gate.in_flight += 1
        gate.gauge.set(gate.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            gate.in_flight -= 1
            gate.gauge.set(gate.in_flight)


def _refusal(body: bytes, media_type: str, retry_after: int) -> tuple[Headers, bytes]:
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
    ]
    return headers, body


def wants_html(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"accept":
            return b"text/html" in value
    return False
