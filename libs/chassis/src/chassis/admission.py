"""Admission control: a process serves at most `limit` requests at once and refuses the
excess at once with 503, `Retry-After` and a problem+json body.

Why refuse rather than queue: a request queued behind a full process waits for the ones
ahead of it, then for its own work; past the process's capacity the queue only grows, and
every request in it ends in its caller's timeout having cost a share of CPU first. A 503
answered in microseconds costs almost nothing, tells the caller to come back after
`Retry-After`, and keeps the requests that were admitted inside their deadlines (the
goodput). The count is per process: each replica protects itself, with no coordination.

The outermost middleware of the API app (outside the request context): a refusal makes
no span, no log line and no route match, only `mosaic_http_server_requests_shed`. Ops
endpoints are on the ops port, another app; they are exempt here too, by path, for a
platform that probes the API port (Cloud Run).
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from chassis import metrics
from chassis.errors import PROBLEM_MEDIA_TYPE, Problem

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AdmissionControl:
    """At most `limit` HTTP requests in flight; the next ones get 503 + Retry-After."""

    def __init__(self, app: ASGIApp, *, limit: int, retry_after: int, service: str) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.service = service
        self._shed = metrics.http_server_shed.labels(service)
        self._gauge = metrics.http_server_in_flight.labels(service)
        problem = Problem(
            503,
            "overloaded",
            f"The {service or 'service'} is at capacity right now; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
        # Made once: a refusal must cost next to nothing.
        self._refusal_body = orjson.dumps(problem.body())
        self._refusal_headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(self._refusal_body)).encode()),
            (b"retry-after", str(retry_after).encode()),
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self._shed.inc()
            await send(
                {"type": "http.response.start", "status": 503, "headers": self._refusal_headers}
            )
            await send({"type": "http.response.body", "body": self._refusal_body})
            return
        self.in_flight += 1
        self._gauge.set(self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._gauge.set(self.in_flight)
