"""Calls between services: one pooled aiohttp session per process.

Every call carries the request id, the trace (OpenTelemetry's `traceparent`) and the
absolute deadline, and never outlives that deadline. Only idempotent calls are retried
(GET, HEAD, PUT, DELETE, OPTIONS, or a POST with an Idempotency-Key), at most 3 attempts
with jittered backoff, and only for failures that say nothing was done or that it may be
done again: connection errors, timeouts, 502/503/504.

When the callee is hosted in this same process (`chassis.inprocess`, the in-process mode
the benchmark compares against), the call goes to its app directly instead of the network,
with the same headers, deadline, timeouts and retries.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import stamina
from multidict import CIMultiDictProxy

from chassis import context, inprocess, metrics, tracing
from chassis.cloudrun import ID_TOKEN_HEADER, IdTokenUnavailable
from chassis.errors import Problem
from chassis.security import Credentials
from chassis.tls import spiffe_id

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})
MAX_ATTEMPTS = 3
TIMED_OUT = "timed out"


class UpstreamUnavailable(Problem):
    """The callee could not be reached or failed (after retries, within the deadline)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(
            503,
            "upstream-unavailable",
            f"The {service} service is unavailable right now ({reason}); try again shortly.",
            service=service,
        )
        self.service = service
        self.reason = reason


class UpstreamTimeout(Problem):
    """The deadline passed before the callee answered."""

    def __init__(self, service: str) -> None:
        super().__init__(
            504,
            "upstream-timeout",
            f"The {service} service did not answer within the request's deadline.",
            service=service,
        )
        self.service = service


class UpstreamStatusError(Problem):
    """The callee answered with a 4xx the caller did not expect."""

    def __init__(self, service: str, status: int, problem: dict[str, Any]) -> None:
        detail = str(problem.get("detail") or f"{service} answered {status}")
        super().__init__(502, "upstream-rejected", detail, service=service, upstream_status=status)
        self.service = service
        self.upstream_status = status
        self.problem = problem


class _Retryable(Exception):
    def __init__(self, reason: str, response: Response | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


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
        connect_timeout: float = 1.0,
        request_timeout: float = 5.0,
        credentials: Credentials | None = None,
    ) -> None:
        self.name = f"http:{service}"
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.credentials = credentials
        self._https = self.base_url.startswith("https://")
        self._session: aiohttp.ClientSession | None = None
        self._local: inprocess.Target | None = None
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
        if self._session is None:
            self._session = _shared_session()
        if (hosted := inprocess.hosted(self.service)) is not None:
            # mTLS would have proven our certificate's identity to the callee; here the
            # host knows it for sure: these are our own credentials.
            identity = spiffe_id(self.credentials.service) if self._https else None
            self._local = inprocess.Target(hosted, self.base_url, identity)

    async def ping(self) -> None:
        """Callees are not part of our readiness: a down callee must not take us out of rotation.

        Failing readiness on a dependency would cascade one outage into all its callers.
        """

    async def close(self) -> None:
        self._session = None
        self._local = None
        await _release_shared_session()

    async def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON; a non-2xx answer raises `UpstreamStatusError`."""
        response = await self.request("GET", path, params=params)
        if not response.ok:
            raise UpstreamStatusError(self.service, response.status, _problem(response))
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
    ) -> Response:
        """Send one call; return the answer, or raise when the callee cannot be reached."""
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
        if not retry:
            return await self._checked(method, path, params, body, extra, deadline, timeout, 1)
        # The first attempt stays outside the retry machinery: building it on every call
        # cost ~200 µs of CPU and left reference cycles whose collection stalled every
        # request in flight (measured with bench/hop.py). It is entered after a failure.
        try:
            return await self._checked(method, path, params, body, extra, deadline, timeout, 1)
        except _Retryable:
            pass
        try:
            async for attempt in stamina.retry_context(
                on=_Retryable,
                attempts=MAX_ATTEMPTS - 1,
                timeout=max(deadline - time.time(), 0.001),
                wait_initial=0.05,
                wait_max=0.5,
                wait_jitter=0.05,
            ):
                if attempt.num == 1:  # the backoff before the second attempt overall
                    jitter = random.random() * 0.05  # noqa: S311 (spreading retries, not secrecy)
                    await asyncio.sleep(min(0.05 + jitter, _left(deadline)))
                with attempt:
                    number = attempt.num + 1  # the first attempt was made above
                    metrics.http_client_retries.labels(self._caller, self.service).inc()
                    return await self._checked(
                        method, path, params, body, extra, deadline, timeout, number
                    )
        except _Retryable as failure:
            if failure.response is not None:
                return failure.response
            raise self._unavailable(failure.reason, deadline) from None
        raise AssertionError("unreachable: retry_context either returns or raises")

    async def _checked(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
        timeout: float | None,
        attempt: int,
    ) -> Response:
        """One attempt, counted by outcome and attempt number, and timed. A failure that
        is not safe to repeat ends here, with what the callee said or as the callee down."""
        started = time.perf_counter()
        outcome: str | None = "unreachable"
        try:
            response = await self._send(method, path, params, body, headers, deadline, timeout)
            outcome = _outcome(response.status)
        except _Retryable as failure:
            outcome = _failure_outcome(failure)
            if method in IDEMPOTENT_METHODS or "Idempotency-Key" in headers:
                raise
            if failure.response is not None:
                return failure.response
            raise self._unavailable(failure.reason, deadline) from None
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

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
        timeout: float | None,
    ) -> Response:
        remaining = deadline - time.time()
        if remaining <= 0:
            raise UpstreamTimeout(self.service)
        session = self._session
        if session is None:
            raise RuntimeError(f"{self.name} is not open; it opens in the app's lifespan")
        budget = min(remaining, timeout or self.request_timeout)
        credentials = self.credentials
        assert credentials is not None  # checked in open()
        sent = {**_propagated(deadline), **credentials.headers_for(self.service), **headers}
        try:
            with tracing.client_span(self.service, method) as span:
                tracing.inject(sent)  # this span is the callee's parent
                response = await self._exchange(method, path, params, body, sent, budget)
                span.set_attribute("http.response.status_code", response.status)
        except TimeoutError:
            raise _Retryable(TIMED_OUT) from None
        except inprocess.Unreachable as failure:
            raise _Retryable(failure.reason) from None
        except IdTokenUnavailable as failure:
            raise _Retryable(str(failure)) from None
        except aiohttp.ClientError as error:
            raise _Retryable(type(error).__name__) from None
        if response.status in RETRYABLE_STATUSES:
            raise _Retryable(f"answered {response.status}", response)
        return response

    async def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        sent: dict[str, str],
        budget: float,
    ) -> Response:
        """One request and its answer, to the app in this process or over the network."""
        if self._local is not None:
            status, answer, content = await self._local.call(
                method, path, _query(params), sent, body, budget
            )
            return Response(status, answer, content)
        session, credentials = self._session, self.credentials
        assert session is not None and credentials is not None  # checked by the caller
        if credentials.id_tokens is not None:  # Cloud Run's IAM admits only these
            token = await credentials.id_tokens.token_for(self.base_url, session)
            sent[ID_TOKEN_HEADER] = f"Bearer {token}"
        tls = credentials.tls.client if self._https and credentials.tls else None
        async with session.request(
            method,
            self.base_url + path,
            params=_query(params),
            data=body,
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=budget, connect=self.connect_timeout),
            ssl=tls if tls is not None else True,
        ) as raw:
            return Response(raw.status, _plain(raw.headers), await raw.read())

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


def _failure_outcome(failure: _Retryable) -> str:
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


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    return {key: str(value) for key, value in params.items() if value is not None}


def _plain(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _problem(response: Response) -> dict[str, Any]:
    try:
        data = response.json()
    except orjson.JSONDecodeError:
        return {"detail": response.body[:200].decode("utf-8", "replace")}
    return data if isinstance(data, dict) else {"detail": str(data)}


# One session per process, shared by every ServiceClient (reference-counted by open clients).
_session: aiohttp.ClientSession | None = None
_users = 0


def _shared_session() -> aiohttp.ClientSession:
    global _session, _users
    if _session is None or _session.closed:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=30)
        _session = aiohttp.ClientSession(
            connector=connector,
            json_serialize=lambda data: orjson.dumps(data).decode(),
            auto_decompress=True,
        )
        metrics.watch(_session, _count_connections(connector, metrics.service.get()), every=0)
    _users += 1
    return _session


def _count_connections(connector: aiohttp.TCPConnector, service: str) -> metrics.Probe:
    """The pool's connections in use and idle, from aiohttp's own bookkeeping (`_acquired`,
    `_conns`: aiohttp 3 has no public count)."""

    async def count() -> None:
        in_use = len(getattr(connector, "_acquired", ()))
        idle = sum(len(held) for held in getattr(connector, "_conns", {}).values())
        metrics.http_client_pool.labels(service, "in_use").set(in_use)
        metrics.http_client_pool.labels(service, "idle").set(idle)

    return count


async def _release_shared_session() -> None:
    global _session, _users
    _users = max(_users - 1, 0)
    if _users == 0 and _session is not None:
        metrics.unwatch(_session)
        await _session.close()
        _session = None
