"""The service client against a real HTTP server: propagation, retries, deadlines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import jwt
import pytest
from aiohttp import web
from chassis import (
    Credentials,
    Response,
    ServiceClient,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
    context,
    metrics,
    problem_type,
    tracing,
)
from chassis.client_transport import Outgoing
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from .conftest import callee_at, free_port


@dataclass
class Upstream:
    """A real aiohttp server that fails the first `failures` calls of each path."""

    url: str = ""
    failures: int = 0
    fail_status: int = 503
    fail_retry_after: str | None = None  # the failures' Retry-After, when set
    delay: float = 0.0
    calls: list[web.Request] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # a call has come in

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(request)
        self.arrived.set()
        count = self.seen[request.path] = self.seen.get(request.path, 0) + 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.path == "/missing":
            return web.json_response({"detail": "no such thing"}, status=404)
        if count <= self.failures:
            asked = {"Retry-After": self.fail_retry_after} if self.fail_retry_after else None
            failed = {"detail": "try later"}
            return web.json_response(failed, status=self.fail_status, headers=asked)
        return web.json_response({"ok": True, "count": count})


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    state = Upstream()
    async with callee_at(state.handle) as url:
        state.url = url
        yield state


@pytest.fixture
async def client(upstream: Upstream, credentials: Credentials) -> AsyncIterator[ServiceClient]:
    client = ServiceClient("upstream", upstream.url, request_timeout=2.0, credentials=credentials)
    await client.open()
    yield client
    await client.close()


async def test_propagates_request_id_trace_and_deadline(
    spans: InMemorySpanExporter, client: ServiceClient, upstream: Upstream
) -> None:
    deadline = time.time() + 3
    context.request_id.set("req-42")
    context.deadline.set(deadline)
    try:
        with tracing.span("handling") as parent:
            assert await client.get_json("/v1/x?token=secret") == {"ok": True, "count": 1}
    finally:
        context.request_id.set(None)
        context.deadline.set(None)
    headers = upstream.calls[0].headers
    assert headers["x-request-id"] == "req-42"
    assert int(headers["x-deadline"]) == int(deadline * 1000)
    # The call is a span of the caller's trace (aiohttp's instrumentation), and the callee
    # is told that span is its parent.
    [call] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert call.parent is not None and call.parent.span_id == parent.get_span_context().span_id
    assert headers["traceparent"].startswith(
        f"00-{call.context.trace_id:032x}-{call.context.span_id:016x}-"
    )
    assert "secret" not in str(dict(call.attributes or {}))  # the query is not kept


async def test_idempotent_call_is_retried_until_success(
    client: ServiceClient, upstream: Upstream
) -> None:
    upstream.failures = 2
    assert await client.get_json("/v1/x") == {"ok": True, "count": 3}
    assert len(upstream.calls) == 3


async def test_gives_up_after_three_attempts(client: ServiceClient, upstream: Upstream) -> None:
    upstream.failures = 10
    response = await client.request("GET", "/v1/x")
    assert response.status == 503
    assert len(upstream.calls) == 3


async def test_post_without_idempotency_key_is_never_retried(
    client: ServiceClient, upstream: Upstream
) -> None:
    upstream.failures = 1
    response = await client.request("POST", "/v1/orders", json={"a": 1})
    assert response.status == 503
    assert len(upstream.calls) == 1


async def test_post_with_idempotency_key_is_retried_with_the_same_key(
    client: ServiceClient, upstream: Upstream
) -> None:
    upstream.failures = 1
    response = await client.request("POST", "/v1/charges", json={"a": 1}, idempotency_key="k-1")
    assert response.status == 200
    assert [call.headers["Idempotency-Key"] for call in upstream.calls] == ["k-1", "k-1"]


async def test_a_final_answer_is_not_retried_unless_it_asks_to_be(
    client: ServiceClient, upstream: Upstream
) -> None:
    """`final_answers`: the callee's 503 is its answer (orders' cancelled checkout), not
    sent again; a 503 with Retry-After (shed: nothing done) still is."""
    upstream.failures = 1
    answer = await client.request(
        "POST", "/v1/orders", json={"a": 1}, idempotency_key="k-2", final_answers=True
    )
    assert answer.status == 503 and len(upstream.calls) == 1

    upstream.fail_retry_after = "0"
    again = await client.request(
        "POST", "/v1/shed", json={"a": 1}, idempotency_key="k-3", final_answers=True
    )
    assert again.status == 200 and len(upstream.calls) == 3


async def test_client_errors_are_not_retried(client: ServiceClient, upstream: Upstream) -> None:
    with pytest.raises(UpstreamStatusError) as raised:
        await client.get_json("/missing")
    assert raised.value.upstream_status == 404
    assert len(upstream.calls) == 1


async def test_every_call_carries_a_service_token_for_the_callee(
    client: ServiceClient, upstream: Upstream
) -> None:
    await client.get_json("/v1/x")
    token = upstream.calls[0].headers["x-service-token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "caller"
    assert claims["aud"] == "upstream"
    assert claims["exp"] - claims["iat"] <= 60


async def test_a_client_without_a_signing_key_refuses_to_open() -> None:
    client = ServiceClient("upstream", "http://127.0.0.1:1")
    with pytest.raises(RuntimeError, match="SERVICE_SIGNING_KEY_FILE"):
        await client.open()


async def test_unreachable_callee_is_a_503_problem(credentials: Credentials) -> None:
    client = ServiceClient("ghost", f"http://127.0.0.1:{free_port()}", credentials=credentials)
    await client.open()
    try:
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.get_json("/v1/x")
    finally:
        await client.close()
    assert raised.value.status == 503
    assert "ghost" in raised.value.detail


async def test_slow_callee_is_cut_at_the_deadline(
    client: ServiceClient, upstream: Upstream
) -> None:
    upstream.delay = 1.0
    context.deadline.set(time.time() + 0.3)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamTimeout):
            await client.get_json("/v1/slow")
    finally:
        context.deadline.set(None)
    # Retries stay inside the deadline instead of multiplying it.
    assert time.monotonic() - started < 0.9


async def test_expired_deadline_sends_nothing(client: ServiceClient, upstream: Upstream) -> None:
    context.deadline.set(time.time() - 1)
    try:
        with pytest.raises(UpstreamTimeout):
            await client.get_json("/v1/x")
    finally:
        context.deadline.set(None)
    assert upstream.calls == []


def calls(outcome: str, attempt: str) -> float:
    labels = {"service": "caller", "callee": "upstream", "outcome": outcome, "attempt": attempt}
    return metrics.REGISTRY.get_sample_value("mosaic_http_client_requests_total", labels) or 0.0


def retries() -> float:
    labels = {"service": "caller", "callee": "upstream"}
    return metrics.REGISTRY.get_sample_value("mosaic_http_client_retries_total", labels) or 0.0


async def test_each_attempt_is_counted_by_outcome_and_attempt(
    client: ServiceClient, upstream: Upstream
) -> None:
    upstream.failures = 2
    before = {(o, a): calls(o, a) for o in ("ok", "http_5xx") for a in ("1", "2", "3+")}
    retried = retries()

    await client.get_json("/v1/x")
    await client.request("GET", "/missing")

    moved = {key: calls(*key) - value for key, value in before.items()}
    assert moved == {
        ("ok", "1"): 0,
        ("ok", "2"): 0,
        ("ok", "3+"): 1,
        ("http_5xx", "1"): 1,
        ("http_5xx", "2"): 1,
        ("http_5xx", "3+"): 0,
    }
    assert calls("http_4xx", "1") >= 1
    assert retries() - retried == 2


async def test_an_unreachable_callee_is_counted_as_unreachable(credentials: Credentials) -> None:
    client = ServiceClient(
        "upstream", f"http://127.0.0.1:{free_port()}", request_timeout=1, credentials=credentials
    )
    await client.open()
    before = calls("unreachable", "1")
    try:
        with pytest.raises(UpstreamUnavailable):
            await client.request("POST", "/v1/x")
    finally:
        await client.close()
    assert calls("unreachable", "1") - before == 1


async def test_a_call_its_caller_cancelled_is_no_outcome_of_the_callee(
    client: ServiceClient, upstream: Upstream
) -> None:
    upstream.delay = 5.0
    outcomes = ("ok", "http_4xx", "http_5xx", "timeout", "unreachable")
    before = sum(calls(outcome, "1") for outcome in outcomes)
    call = asyncio.create_task(client.request("GET", "/v1/slow"))
    await asyncio.wait_for(upstream.arrived.wait(), 10)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert sum(calls(outcome, "1") for outcome in outcomes) == before


async def test_the_retry_decision_is_the_callers_not_the_headers(
    client: ServiceClient, upstream: Upstream
) -> None:
    # An Idempotency-Key among the caller's own headers, not given as `idempotency_key`: the
    # call was not made retryable, so its one 503 is the answer (no attempt re-decides it).
    upstream.failures = 1
    response = await client.request("POST", "/v1/x", json={}, headers={"Idempotency-Key": "k"})
    assert response.status == 503
    assert len(upstream.calls) == 1


async def test_a_refusal_names_the_callees_problem_type(
    client: ServiceClient, upstream: Upstream
) -> None:
    upstream.failures, upstream.fail_status = 1, 409
    answer = await client.request("POST", "/v1/x", json={})
    assert (answer.status, answer.problem_type) == (409, "")  # the stand-in names no type

    refused = Response(409, {}, b'{"type": "https://mosaic.dev/problems/cart-not-found"}')
    assert refused.problem_type == "cart-not-found"
    assert UpstreamStatusError("cart", 409, refused.problem()).problem_type == "cart-not-found"
    assert Response(502, {}, b"<html>bad gateway</html>").problem_type == ""
    assert problem_type(["not", "a", "problem"]) == ""


@dataclass
class RecordingTransport:
    """An in-memory transport: answers 200 and keeps what each call sent."""

    sent: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    async def exchange(self, outgoing: Outgoing, budget: float) -> Response:
        self.sent.append((outgoing.method, outgoing.path, outgoing.headers))
        return Response(200, {"content-type": "application/json"}, b'{"ok": true}')

    def failure_reason(self, error: Exception) -> str | None:
        return None


async def test_a_client_given_a_transport_calls_through_it(credentials: Credentials) -> None:
    transport = RecordingTransport()
    # Nothing listens at this URL: the call can only have gone through the transport.
    client = ServiceClient(
        "ghost", f"http://127.0.0.1:{free_port()}", credentials=credentials, transport=transport
    )
    await client.open()
    try:
        assert await client.get_json("/v1/x") == {"ok": True}
    finally:
        await client.close()
    [(method, path, headers)] = transport.sent
    assert (method, path) == ("GET", "/v1/x")
    assert headers["x-service-token"] and headers["x-deadline"]


def test_uvloops_refusal_of_a_reused_descriptor_is_a_failure_to_reach_the_callee() -> None:
    """Seen after resets under load: a connect that uvloop refuses is retried like a
    refused connection, never a 500 (tests/system/test_hop_faults_under_load.py)."""
    from chassis.client_transport import NetworkTransport

    transport = NetworkTransport.__new__(NetworkTransport)  # failure_reason reads no state
    uvloop_says = RuntimeError("File descriptor 32 is used by transport <TCPTransport>")
    assert transport.failure_reason(uvloop_says) is not None
    assert transport.failure_reason(RuntimeError("a bug of ours")) is None
    assert transport.failure_reason(ValueError("transport")) is None
