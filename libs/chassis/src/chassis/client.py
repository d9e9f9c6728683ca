"""Calls between services: one pooled aiohttp session per process.

Every call carries the request id, the trace (OpenTelemetry's `traceparent`) and the
absolute deadline, and never outlives that deadline. Only idempotent calls are retried
(GET, HEAD, PUT, DELETE, OPTIONS, or a POST with an Idempotency-Key), at most 3 attempts
with jittered backoff, and only for failures that say nothing was done or that it may be
done again: connection errors, timeouts, 502/503/504. A callee's `Retry-After` (its
admission control shedding load) sets the wait before the next attempt, and no retry is
made when it reaches past the deadline. Retries are bounded by a budget per callee and
process (`chassis.retry_budget`: a tenth of the calls), and every attempt goes through the
callee's circuit breaker (`chassis.breaker`), which refuses calls at once while open; both
decisions are in `chassis.client_guards`.

The wire is a `Transport` the client is given (`chassis.client_transport`), when it is made
or later with `use`; by default the network. The in-process host (`chassis.host`, the mode
the benchmark compares against) gives the clients of each service it hosts its transport to
that service's app (`chassis.client_inprocess`), with the same headers, deadline, timeouts
and retries. The answer is a `Response`
(`chassis.client_response`); failures are the `Upstream*` problems (`chassis.client_errors`).

Long because one call's whole life (deadline, attempts, breaker, budget, timing and metrics
per attempt) reads as one loop here; the decisions it asks are in `chassis.client_guards`,
the wire in `chassis.client_transport`, and splitting the loop would scatter its order.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import stamina

from chassis import context, metrics, tracing
from chassis.breaker import CalleeBreaker, CircuitOpen, breaker_for
from chassis.client_errors import (
    Retryable,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from chassis.client_guards import retry_wait, through_breaker
from chassis.client_pool import release_shared_session, shared_session
from chassis.client_response import Response, retry_after
from chassis.client_transport import NetworkTransport, Outgoing, Transport, query_of
from chassis.errors import Problem
from chassis.retry_budget import RetryBudget, budget_for
from chassis.security import Credentials

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})
MAX_ATTEMPTS = 3
TIMED_OUT = "timed out"
CIRCUIT_OPEN = "circuit open"
FIRST_BACKOFF = 0.05  # before the second attempt, plus up to as much again of jitter
# A new connection's bound, its TLS handshake included (aiohttp's `connect`), never more
# than the call's budget. Not 1 s: the callee does its side of the handshake in its event
# loop, behind the requests it is serving, so a burst of new connections to a busy callee
# waited 1-3 s there (50 checkouts at once on a shared CI machine), and each wait counted
# as a failed attempt: the breaker opened on a callee that was only busy
# (tests/system/test_checkout_idempotency.py, libs/chassis/tests/test_client_busy_callee.py).
# 5 s is Envoy's default connect timeout for a cluster; a dead callee is refused at once
# (no listener), so only a host that drops packets waits this long.
CONNECT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Call:
    """One call as the caller asked for it, the same for each of its attempts."""

    method: str
    path: str
    params: Mapping[str, Any] | None
    body: bytes | None
    headers: dict[str, str]
    deadline: float
    timeout: float | None
    retry: bool  # safe to repeat: decided once, in `request`
    final_answers: bool = False  # a 502/503/504 without Retry-After is the callee's answer


def _final(call: _Call, response: Response) -> bool:
    """A 502/503/504 that is the callee's answer: asked for, and without Retry-After."""
    return call.final_answers and retry_after(response) is None


class ServiceClient:
    """A client for one callee service, e.g. `ServiceClient("catalog", settings.catalog_url)`.

    Clients of one process share a single aiohttp session (connection pool) so TCP and TLS
    connections are reused across callees' replicas.
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        connect_timeout: float = CONNECT_SECONDS,
        request_timeout: float = 5.0,
        credentials: Credentials | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.name = f"http:{service}"
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.credentials = credentials
        self._https = self.base_url.startswith("https://")
        self._given = transport  # else the network, when opening
        self._transport: Transport | None = None
        self._pooled = False
        self._caller = credentials.service if credentials is not None else ""  # a label

    async def open(self) -> None:
        if self.credentials is None or self.credentials.signer is None:
            raise RuntimeError(
                f"calls to {self.service} need credentials with a signing key "
                "(SERVICE_SIGNING_KEY_FILE): every call carries a service token"
            )
        # On Cloud Run a callee's https URL is Google's front end, verified against the
        # system's CAs; elsewhere https means our own CA and a client certificate.
        if self._https and self.credentials.tls is None and self.credentials.id_tokens is None:
            raise RuntimeError(f"{self.base_url} is https but TLS_CERT_FILE etc. are not set")
        if not self._pooled:
            session, self._pooled = shared_session(), True
            self._transport = self._given or NetworkTransport(
                session, self.base_url, self.credentials, self.connect_timeout
            )

    def use(self, transport: Transport) -> None:
        """Calls go through `transport` from the next `open` on (the in-process host gives
        each client of a service it hosts its transport to that service's app)."""
        self._given = transport

    async def ping(self) -> None:
        """Callees are not part of our readiness: a down callee must not take us out of rotation.

        Failing readiness on a dependency would cascade one outage into all its callers.
        """

    async def close(self) -> None:
        self._pooled = False
        self._transport = None
        await release_shared_session()

    @property
    def _budget(self) -> RetryBudget:
        return budget_for(self.service)  # looked up per call: a reset (tests) reaches it

    @property
    def _breaker(self) -> CalleeBreaker:
        return breaker_for(self._caller, self.service)

    @property
    def refusing(self) -> bool:
        """Whether the callee's breaker would refuse a call now (it is known to be down):
        a caller may then give its degraded answer without trying."""
        return self._breaker.refusing()

    async def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON; a non-2xx answer raises `UpstreamStatusError`."""
        response = await self.request("GET", path, params=params)
        if not response.ok:
            raise UpstreamStatusError(self.service, response.status, response.problem())
        return response.json()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        final_answers: bool = False,
    ) -> Response:
        """Send one call; return the answer, or raise when the callee cannot be reached.

        `final_answers`: the callee's 502, 503 or 504 is its answer, not retried, unless it
        carries `Retry-After` (shed, or its database away: nothing was done). For a call
        whose failed answer leaves a record and frees its key for a new try (orders'
        checkout cancelled before payment), where a retry would make a second record."""
        method = method.upper()
        retry = method in IDEMPOTENT_METHODS or idempotency_key is not None
        body = orjson.dumps(json) if json is not None else None
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        if body is not None:
            extra["Content-Type"] = "application/json"

        started = time.time()
        deadline = context.deadline.get() or started + (timeout or self.request_timeout)
        call = _Call(method, path, params, body, extra, deadline, timeout, retry, final_answers)
        self._budget.record_call()
        # The first attempt stays outside the retry machinery: building it on every call
        # cost ~200 µs of CPU and left reference cycles whose collection stalled every
        # request in flight (measured with bench/hop.py). It is entered after a failure.
        try:
            return await self._checked(call, 1)
        except Retryable as failure:
            wait = self._retry_wait(failure, deadline)
            if wait is False:
                return self._final(failure, deadline)
        jitter = random.random() * FIRST_BACKOFF  # noqa: S311 (spreading retries, not secrecy)
        await asyncio.sleep(min(FIRST_BACKOFF + jitter if wait is True else wait, _left(deadline)))
        try:
            async for attempt in stamina.retry_context(
                on=lambda error: self._retry_wait(error, deadline),
                attempts=MAX_ATTEMPTS - 1,
                timeout=max(deadline - time.time(), 0.001),
                wait_initial=0.05,
                wait_max=0.5,
                wait_jitter=0.05,
            ):
                with attempt:
                    number = attempt.num + 1  # the first attempt was made above
                    metrics.http_client_retries.labels(self._caller, self.service).inc()
                    return await self._checked(call, number)
        except Retryable as failure:
            return self._final(failure, deadline)
        raise AssertionError("unreachable: retry_context either returns or raises")

    def _retry_wait(self, failure: Exception, deadline: float) -> bool | float:
        return retry_wait(failure, _left(deadline), self._budget, self._caller, self.service)

    def _final(self, failure: Retryable, deadline: float) -> Response:
        """The answer after the last attempt: the callee's own, else it is unavailable."""
        if failure.response is not None:
            return failure.response
        raise self._unavailable(failure.reason, deadline) from None

    async def _checked(self, call: _Call, attempt: int) -> Response:
        """One attempt, counted by outcome and attempt number, and timed. A failure that
        is not safe to repeat (`call.retry` false) ends here, with what the callee said or
        as the callee down."""
        started = time.perf_counter()
        outcome: str | None = "unreachable"
        try:
            response = await self._through_breaker(call)
            outcome = _outcome(response.status)
        except CircuitOpen:
            outcome = "circuit_open"
            raise UpstreamUnavailable(self.service, CIRCUIT_OPEN) from None
        except Retryable as failure:
            outcome = _failure_outcome(failure)
            if call.retry:
                raise
            if failure.response is not None:
                return failure.response
            raise self._unavailable(failure.reason, call.deadline) from None
        except UpstreamTimeout:
            outcome = "timeout"
            raise
        except asyncio.CancelledError:
            # Our caller gave up (a page whose other call failed): says nothing of the callee.
            outcome = None
            raise
        finally:
            if outcome is not None:
                metrics.http_client_requests.labels(
                    self._caller, self.service, outcome, metrics.attempt_label(attempt)
                ).inc()
                metrics.http_client_duration.labels(self._caller, self.service).observe(
                    time.perf_counter() - started
                )
        return response

    async def _through_breaker(self, call: _Call) -> Response:
        return await through_breaker(self._breaker, lambda: self._send(call))

    async def _send(self, call: _Call) -> Response:
        remaining = call.deadline - time.time()
        if remaining <= 0:
            raise UpstreamTimeout(self.service)
        transport = self._transport
        if transport is None:
            raise RuntimeError(f"{self.name} is not open; it opens in the app's lifespan")
        budget = min(remaining, call.timeout or self.request_timeout)
        credentials = self.credentials
        assert credentials is not None  # checked in open()
        sent = {
            **_propagated(call.deadline),
            **credentials.headers_for(self.service),
            **call.headers,
        }
        query = query_of(call.params)
        try:
            with tracing.client_span(self.service, call.method) as span:
                tracing.inject(sent)  # this span is the callee's parent
                outgoing = Outgoing(call.method, call.path, query, sent, call.body)
                response = await transport.exchange(outgoing, budget)
                span.set_attribute("http.response.status_code", response.status)
        except TimeoutError:
            raise Retryable(TIMED_OUT) from None
        except Exception as error:
            if (reason := transport.failure_reason(error)) is None:
                raise
            raise Retryable(reason) from None
        if response.status in RETRYABLE_STATUSES and not _final(call, response):
            raise Retryable(f"answered {response.status}", response)
        return response

    def _unavailable(self, reason: str, deadline: float) -> Problem:
        if time.time() >= deadline:
            return UpstreamTimeout(self.service)
        return UpstreamUnavailable(self.service, reason)


class ClientResource:
    """Base of a service's typed client for another service: a chassis resource around one
    `ServiceClient`, opened, pinged and closed in the lifespan with it."""

    def __init__(self, http: ServiceClient) -> None:
        self.http = http
        self.name = http.name

    async def open(self) -> None:
        await self.http.open()

    async def ping(self) -> None:
        await self.http.ping()

    async def close(self) -> None:
        await self.http.close()


def _outcome(status: int) -> str:
    if status >= 500:
        return "http_5xx"
    return "http_4xx" if status >= 400 else "ok"


def _failure_outcome(failure: Retryable) -> str:
    if failure.response is not None:
        return _outcome(failure.response.status)
    return "timeout" if failure.reason == TIMED_OUT else "unreachable"


def _left(deadline: float) -> float:
    return max(deadline - time.time(), 0.0)


def _propagated(deadline: float) -> dict[str, str]:
    headers = {context.DEADLINE_HEADER: str(int(deadline * 1000))}
    if request_id := context.request_id.get():
        headers[context.REQUEST_ID_HEADER] = request_id
    return headers
