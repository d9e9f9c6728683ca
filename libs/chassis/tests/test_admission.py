"""Admission control: a process past its bound refuses at once with 503 + Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from chassis import ServiceSettings, callers, create_app, metrics
from chassis.testing import ServiceKeys
from fastapi import APIRouter

from .conftest import calling

router = APIRouter(dependencies=[callers("tester")])
release = asyncio.Event()
inside: list[asyncio.Event] = []


@router.get("/v1/slow")
async def slow() -> dict[str, str]:
    for arrived in inside:
        if not arrived.is_set():
            arrived.set()
            break
    await release.wait()
    return {"status": "done"}


@router.get("/healthz")
async def healthz() -> dict[str, str]:  # as a platform probing the API port would ask
    return {"status": "ok"}


@pytest.fixture
async def http(settings: ServiceSettings, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    release.clear()
    app = create_app(
        settings.model_copy(update={"max_in_flight": 2, "shed_retry_after_seconds": 3}),
        routers=[router],
    )
    async with calling(app, keys.headers("tester", settings.service_name)) as client:
        yield client
    release.set()


def shed_count(service: str) -> float:
    return metrics.http_server_shed.labels(service)._value.get()


async def test_past_its_bound_a_process_refuses_at_once_with_retry_after(
    http: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    shed_before = shed_count(settings.service_name)
    inside[:] = [asyncio.Event(), asyncio.Event()]
    admitted = [asyncio.create_task(http.get("/v1/slow")) for _ in range(2)]
    for arrived in inside:
        await asyncio.wait_for(arrived.wait(), timeout=5)
    assert metrics.http_server_in_flight.labels(settings.service_name)._value.get() == 2

    refused = await asyncio.wait_for(http.get("/v1/slow"), timeout=2)  # at once, not queued

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "3"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/overloaded")
    assert shed_count(settings.service_name) == shed_before + 1
    # The probes are never refused: a busy process is not a dead one.
    assert (await http.get("/healthz")).status_code == 200

    release.set()
    assert [(await task).status_code for task in admitted] == [200, 200]
    assert (await http.get("/v1/slow")).status_code == 200  # room again


def test_the_default_bound_is_lower_at_the_edge(settings: ServiceSettings) -> None:
    assert settings.model_copy(update={"edge": True}).in_flight_limit == 64
    assert settings.in_flight_limit == 128
    assert settings.model_copy(update={"max_in_flight": 7}).in_flight_limit == 7


async def test_a_browser_is_refused_with_a_page_in_words(
    http: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    inside[:] = [asyncio.Event(), asyncio.Event()]
    admitted = [asyncio.create_task(http.get("/v1/slow")) for _ in range(2)]
    for arrived in inside:
        await asyncio.wait_for(arrived.wait(), timeout=5)

    refused = await http.get("/v1/slow", headers={"Accept": "text/html,*/*;q=0.8"})

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "3"
    assert refused.headers["content-type"].startswith("text/html")
    assert "try again in 3 s" in refused.text
    release.set()
    await asyncio.gather(*admitted)
