"""The client facing an overloaded or dead callee: it honours Retry-After within the
deadline, keeps its retries inside the budget, and its breaker fails calls at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from chassis import Credentials, ServiceClient, UpstreamUnavailable, context, metrics
from chassis.breaker import THRESHOLD, breaker_for

from .conftest import callee_at


@dataclass
class Callee:
    """A real aiohttp server answering `status` (with `retry_after`) to every call."""

    url: str = ""
    status: int = 200
    retry_after: str | None = None
    calls: int = 0

    async def handle(self, _: web.Request) -> web.StreamResponse:
        self.calls += 1
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return web.json_response({"calls": self.calls}, status=self.status, headers=headers)


@pytest.fixture
async def callee() -> AsyncIterator[Callee]:
    state = Callee()
    async with callee_at(state.handle) as url:
        state.url = url
        yield state


async def opened(name: str, url: str, credentials: Credentials) -> ServiceClient:
    client = ServiceClient(name, url, request_timeout=3.0, credentials=credentials)
    await client.open()
    return client


async def test_retry_after_sets_the_wait_before_the_retry(
    callee: Callee, credentials: Credentials
) -> None:
    callee.status, callee.retry_after = 503, "1"
    client = await opened("shedding", callee.url, credentials)
    try:
        started = time.monotonic()
        task = asyncio.create_task(client.request("GET", "/v1/x"))
        await asyncio.sleep(0.5)
        assert callee.calls == 1  # still waiting the second the callee asked for
        callee.status, callee.retry_after = 200, None
        response = await task
    finally:
        await client.close()
    assert response.status == 200
    assert callee.calls == 2
    assert time.monotonic() - started >= 1.0


async def test_a_retry_after_past_the_deadline_is_not_waited_for(
    callee: Callee, credentials: Credentials
) -> None:
    callee.status, callee.retry_after = 503, "30"
    client = await opened("busy", callee.url, credentials)
    context.deadline.set(time.time() + 2)
    try:
        started = time.monotonic()
        response = await client.request("GET", "/v1/x")
    finally:
        context.deadline.set(None)
        await client.close()
    assert response.status == 503  # the callee's own answer, at once
    assert response.headers["retry-after"] == "30"
    assert callee.calls == 1
    assert time.monotonic() - started < 1.0


async def test_retries_stay_within_a_tenth_of_the_calls(
    callee: Callee, credentials: Credentials
) -> None:
    callee.status = 502  # every call fails in a way worth retrying
    client = await opened("failing", callee.url, credentials)
    breaker_for("caller", "failing", threshold=10_000)  # never opens: about the budget alone
    refused = metrics.http_client_retries_refused.labels("caller", "failing")
    refused_before = refused._value.get()
    try:
        for _ in range(60):
            assert (await client.request("GET", "/v1/x")).status == 502
    finally:
        await client.close()
    retries = callee.calls - 60
    assert 3 <= retries <= 6  # 10 % of 60 calls (the floor of 3 is inside it)
    assert refused._value.get() - refused_before >= 60 - retries  # each refusal counted


async def test_the_breaker_opens_on_a_dead_callee_and_closes_when_it_is_back(
    callee: Callee, credentials: Credentials
) -> None:
    callee.status = 500
    client = await opened("flaky", callee.url, credentials)
    breaker = breaker_for("caller", "flaky", reset_seconds=0.3)
    try:
        for _ in range(THRESHOLD):
            assert (await client.request("GET", "/v1/x")).status == 500
        assert breaker.state == "opened"
        calls = callee.calls
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await client.request("GET", "/v1/x")
        assert callee.calls == calls  # refused without calling
        assert time.monotonic() - started < 0.05
        callee.status = 200
        await asyncio.sleep(0.4)
        assert (await client.request("GET", "/v1/x")).status == 200  # the probe
        assert breaker.state == "closed"
    finally:
        await client.close()


async def test_client_errors_and_shed_answers_do_not_open_the_breaker(
    callee: Callee, credentials: Credentials
) -> None:
    client = await opened("choosy", callee.url, credentials)
    try:
        callee.status = 404
        for _ in range(THRESHOLD * 2):
            await client.request("GET", "/v1/x")
        callee.status, callee.retry_after = 503, "30"  # shedding load, not broken
        for _ in range(THRESHOLD * 2):
            await client.request("GET", "/v1/x")
    finally:
        await client.close()
    assert breaker_for("caller", "choosy").state == "closed"
