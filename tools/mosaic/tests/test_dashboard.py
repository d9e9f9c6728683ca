"""The runner's trace receiver: spans the SDK's own OTLP/HTTP exporter sends come back as
JSON by trace, the latest first, bounded; what is not an export is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from mosaic.dashboard import start_dashboard
from mosaic.traces import TraceStore
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind


@pytest.fixture
async def dashboard() -> AsyncIterator[tuple[str, TraceStore]]:
    store = TraceStore(max_traces=3)
    runner, port = await start_dashboard(store, 0)
    yield f"http://127.0.0.1:{port}", store
    await runner.cleanup()


def provider(url: str, service: str) -> TracerProvider:
    made = TracerProvider(resource=Resource.create({"service.name": service}))
    made.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    return made


async def get(url: str) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        body = await answer.json() if answer.content_type == "application/json" else None
        return answer.status, body


async def test_exported_spans_come_back_as_one_trace(
    dashboard: tuple[str, TraceStore],
) -> None:
    url, _ = dashboard
    frontend, orders = provider(url, "frontend"), provider(url, "orders")

    def export() -> tuple[int, int]:  # the exporter is synchronous
        with (
            frontend.get_tracer("t").start_as_current_span(
                "POST /checkout", kind=SpanKind.SERVER, attributes={"http.route": "/checkout"}
            ) as root,
            orders.get_tracer("t").start_as_current_span("POST /v1/orders") as child,
        ):
            pass
        return root.get_span_context().trace_id, child.get_span_context().span_id

    trace_id, child_id = await asyncio.to_thread(export)
    status, recent = await get(f"{url}/api/traces?limit=10")
    assert status == 200
    assert recent == [
        {
            "trace_id": f"{trace_id:032x}",
            "name": "POST /checkout",
            "service": "frontend",
            "start": pytest.approx(recent[0]["start"]),  # type: ignore[index]
            "duration_ms": pytest.approx(recent[0]["duration_ms"]),  # type: ignore[index]
            "spans": 2,
            "services": ["frontend", "orders"],
            "error": False,
        }
    ]
    status, one = await get(f"{url}/api/traces/{trace_id:032x}")
    assert status == 200
    spans = one["spans"]  # type: ignore[index]
    assert [(s["name"], s["service"], s["kind"]) for s in spans] == [
        ("POST /checkout", "frontend", "server"),
        ("POST /v1/orders", "orders", "internal"),
    ]
    assert spans[0]["parent_id"] is None and spans[0]["attributes"] == {"http.route": "/checkout"}
    assert (
        spans[1]["parent_id"] == spans[0]["span_id"] and spans[1]["span_id"] == f"{child_id:016x}"
    )
    assert (await get(f"{url}/api/traces/{'0' * 32}"))[0] == 404


async def test_only_the_latest_traces_are_kept(dashboard: tuple[str, TraceStore]) -> None:
    url, store = dashboard
    tracer = provider(url, "catalog").get_tracer("t")

    def export(count: int) -> list[str]:
        ids = []
        for n in range(count):
            with tracer.start_as_current_span(f"GET /{n}") as span:
                ids.append(f"{span.get_span_context().trace_id:032x}")
        return ids

    ids = await asyncio.to_thread(export, 5)
    _, recent = await get(f"{url}/api/traces?limit=10")
    assert [t["trace_id"] for t in recent] == ids[::-1][:3]  # type: ignore[attr-defined]
    assert store.spans(ids[0]) is None


async def test_what_is_not_an_export_is_refused(dashboard: tuple[str, TraceStore]) -> None:
    url, _ = dashboard
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{url}/v1/traces", data=b"\xff\xff", headers={"content-type": "application/x-protobuf"}
        ) as answer:
            assert answer.status == 400
        async with session.post(f"{url}/v1/traces", json={}) as answer:
            assert answer.status == 415
    assert (await get(f"{url}/api/traces?limit=0"))[0] == 400


async def test_edges_learnt_after_the_start_are_drawn() -> None:
    """`mosaic up` fills the shop's edges once the dashboard runs (mosaic.dashboard_edges):
    the live graph must draw them then, not only the edges known at its creation."""
    from mosaic.dashboard import Shop
    from mosaic.dashboard_graph import Edge

    shop = Shop(services=["frontend", "catalog"], first="frontend")
    runner, port = await start_dashboard(TraceStore(), 0, shop)
    edge = 'data-caller="frontend" data-callee="catalog"'
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/live") as answer:
                assert edge not in await answer.text()
            shop.edges[:] = [Edge("frontend", "catalog")]
            async with session.get(f"http://127.0.0.1:{port}/live") as answer:
                assert edge in await answer.text()
    finally:
        await runner.cleanup()
