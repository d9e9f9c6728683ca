"""chassis.metrics: /metrics on the ops port, the contract's families, probes at scrape time."""

from __future__ import annotations

import httpx
from chassis import Cache, metrics
from chassis.ops import Lifecycle, create_ops_app
from chassis.testing import METRIC_CONTRACT


async def scrape() -> httpx.Response:
    app = create_ops_app(Lifecycle(), service="testsvc", version="1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as http:
        return await http.get("/metrics")


async def test_the_ops_port_serves_every_family_of_the_contract() -> None:
    response = await scrape()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    declared = {
        line.split()[2] for line in response.text.splitlines() if line.startswith("# TYPE ")
    }
    assert [name for name in METRIC_CONTRACT if name not in declared] == []
    assert "process_cpu_seconds_total" in response.text
    assert "process_resident_memory_bytes" in response.text


async def test_a_probe_runs_at_scrape_time_at_most_once_per_interval() -> None:
    runs: list[int] = []

    async def probe() -> None:
        runs.append(1)
        metrics.outbox_pending.labels("probed").set(len(runs))

    owner = object()
    metrics.watch(owner, probe, every=60)
    try:
        first = await scrape()
        second = await scrape()
    finally:
        metrics.unwatch(owner)
    assert len(runs) == 1  # the second scrape served the first one's value
    assert 'mosaic_outbox_pending_events{service="probed"} 1.0' in first.text
    assert 'mosaic_outbox_pending_events{service="probed"} 1.0' in second.text


async def test_a_failing_probe_leaves_its_last_values_and_the_rest_served() -> None:
    async def broken() -> None:
        raise ConnectionError("broker away")

    owner = object()
    metrics.watch(owner, broken, every=0)
    try:
        response = await scrape()
    finally:
        metrics.unwatch(owner)
    assert response.status_code == 200
    assert "mosaic_http_server_requests_total" in response.text


def test_a_cache_counts_hits_and_misses_under_its_service() -> None:
    token = metrics.service.set("shop")
    try:
        cache = Cache("valkey://127.0.0.1:1", prefix="shop")
        cache._service = metrics.service.get()  # as open() does, without a Valkey
    finally:
        metrics.service.reset(token)

    def count(result: str) -> float:
        labels = {"service": "shop", "cache": "responses", "result": result}
        return metrics.REGISTRY.get_sample_value("mosaic_cache_requests_total", labels) or 0.0

    hits, misses = count("hit"), count("miss")
    cache.record("responses", hit=False)
    cache.record("responses", hit=True)
    cache.record("responses", hit=True)
    assert (count("hit") - hits, count("miss") - misses) == (2, 1)
