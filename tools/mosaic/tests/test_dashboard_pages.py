"""The dashboard served as the runner serves it: the graph's numbers come from a real HTTP
scrape of an ops port's /metrics (here a small server whose counters grow on each scrape),
only once someone looks; a trace's waterfall from an OTLP export, its log lines from log
files as `mosaic logs` reads them; static files are local, and htmx is the frontend's
vendored copy."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from mosaic.dashboard import STATIC, Shop, start_dashboard
from mosaic.dashboard_graph import Edge
from mosaic.traces import TraceStore
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

REPO = Path(__file__).resolve().parents[3]
FRONTEND_HTMX = REPO / "services/frontend/src/frontend/static/vendor/htmx.min.js"
TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER_TRACE = "1bf7651916cd43dd8448eb211c80319d"
EDGES = [Edge("frontend", "orders"), Edge("orders", "notifications", event=True)]


class OpsPort:
    """orders' /metrics: every scrape, 10 more calls to... itself, 10 more requests."""

    def __init__(self) -> None:
        self.scrapes = 0

    async def metrics(self, _: web.Request) -> web.Response:
        self.scrapes += 1
        n = self.scrapes * 10
        text = (
            "# TYPE mosaic_http_server_requests_total counter\n"
            'mosaic_http_server_requests_total{method="POST",route="/v1/orders",'
            f'service="orders",status="201"}} {n}\n'
            "# TYPE mosaic_http_client_requests_total counter\n"
            'mosaic_http_client_requests_total{attempt="1",callee="orders",outcome="ok",'
            f'service="frontend"}} {n}\n'
            "# TYPE mosaic_outbox_pending_events gauge\n"
            'mosaic_outbox_pending_events{service="orders"} 3\n'
            "# TYPE mosaic_stream_consumer_lag_entries gauge\n"
            'mosaic_stream_consumer_lag_entries{group="notifications",service="notifications",'
            'stream="events:orders"} 2\n'
        )
        return web.Response(text=text, content_type="text/plain")


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[tuple[str, TraceStore, OpsPort]]:
    ops = OpsPort()
    app = web.Application()
    app.router.add_get("/metrics", ops.metrics)
    ops_runner = web.AppRunner(app, access_log=None)
    await ops_runner.setup()
    site = web.TCPSite(ops_runner, "127.0.0.1", 0)
    await site.start()
    ops_port = int(ops_runner.addresses[0][1])
    processes = [
        {"service": "orders", "process": "web", "replica": 1, "ops_port": ops_port,
         "state": "ready", "restarts": 0},
        {"service": "orders", "process": "relay", "replica": 1, "ops_port": None,
         "state": "restarting", "restarts": 2},
    ]  # fmt: skip
    write_logs(tmp_path / "logs")
    store = TraceStore()
    shop = Shop(
        services=["frontend", "notifications", "orders"],
        edges=EDGES,
        first="frontend",
        workers=frozenset({"notifications"}),
        processes=lambda: processes,
        logs=tmp_path / "logs",
    )
    runner, port = await start_dashboard(store, 0, shop)
    yield f"http://127.0.0.1:{port}", store, ops
    await runner.cleanup()
    await ops_runner.cleanup()


def write_logs(folder: Path) -> None:
    folder.mkdir()

    def line(service: str, event: str, trace: str) -> str:
        record = {"timestamp": "2026-12-06T12:00:00+00:00", "level": "info", "event": event,
                  "service": service, "trace_id": trace}  # fmt: skip
        return json.dumps(record) + "\n"

    (folder / "orders.web.1.log").write_text(
        line("orders", "order placed", TRACE) + line("orders", "someone else's", OTHER_TRACE)
    )
    (folder / "frontend.web.1.log").write_text(line("frontend", "checkout answered", TRACE))


async def get(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status, await answer.text(), dict(answer.headers)


async def test_the_graph_shows_what_the_ops_ports_count(
    dashboard: tuple[str, TraceStore, OpsPort],
) -> None:
    url, _, ops = dashboard
    quiet_until = time.monotonic() + 2.5  # over one scrape interval
    while time.monotonic() < quiet_until:  # nobody looks yet: the processes are left alone
        assert ops.scrapes == 0, "scraped with nobody looking"
        await asyncio.sleep(0.1)
    status, html, headers = await get(f"{url}/")
    assert status == 200
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert 'hx-trigger="every 2s"' in html and 'href=""' in html  # polls; a link without JS
    assert "No traffic yet: open the shop and place an order." in html
    for name in ("frontend", "orders", "notifications"):
        assert f'class="node" data-service="{name}"' in html
    assert 'data-caller="frontend" data-callee="orders"' in html
    assert 'class="edge event" data-caller="orders" data-callee="notifications"' in html

    deadline = time.monotonic() + 15
    while ops.scrapes < 3:  # two scrapes make a rate
        assert time.monotonic() < deadline, "the dashboard never scraped the ops port twice"
        await asyncio.sleep(0.1)
    _, live, _ = await get(f"{url}/live")
    # 10 more requests per scrape, scrapes at least 2 s apart: up to 5 per second
    rate = re.search(r'class="node" data-service="orders" data-rate="([0-9.]+)"', live)
    assert rate and 0.0 < float(rate.group(1)) <= 5.01
    call = re.search(r'data-caller="frontend" data-callee="orders" data-rate="([0-9.]+)"', live)
    assert call and float(call.group(1)) > 0
    assert "lag 2" in live and "3 pending" in live
    assert "reads events · lag 2" in live  # a worker is coloured and labelled by its lag
    assert "No traffic yet" not in live
    assert "restarting" in live and "relay x1" in live


async def test_a_trace_opens_as_a_waterfall_with_links_to_its_log_lines(
    dashboard: tuple[str, TraceStore, OpsPort],
) -> None:
    url, store, _ = dashboard
    store.add_export(export())
    store.add_export(export(OTHER_TRACE, root="catalog"))  # began inside a service, later
    _, html, _ = await get(f"{url}/")
    assert f'href="/traces/{TRACE}"' in html
    assert f'href="/traces/{OTHER_TRACE}"' not in html  # the list is the shoppers' requests
    status, waterfall, _ = await get(f"{url}/traces/{TRACE}")
    assert status == 200
    assert waterfall.count('class="span') == 2
    assert 'class="span error" data-service="orders"' in waterfall
    assert "depth-1" in waterfall  # the orders span under the frontend's
    assert f'href="/traces/{TRACE}/logs?service=orders"' in waterfall

    status, logs, _ = await get(f"{url}/traces/{TRACE}/logs?service=orders")
    assert status == 200
    assert "order placed" in logs
    assert "checkout answered" not in logs and "someone else" not in logs
    _, every, _ = await get(f"{url}/traces/{TRACE}/logs")
    assert "order placed" in every and "checkout answered" in every

    assert (await get(f"{url}/traces/{'f' * 32}"))[0] == 404
    assert (await get(f"{url}/traces/not-a-trace"))[0] == 400
    assert (await get(f"{url}/traces/{TRACE}/logs?service=nobody"))[0] == 400


async def test_static_files_are_served_and_htmx_is_the_frontends_copy(
    dashboard: tuple[str, TraceStore, OpsPort],
) -> None:
    url, _, _ = dashboard
    status, body, _ = await get(f"{url}/static/htmx.min.js")
    assert status == 200 and "htmx" in body
    ours = hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest()
    assert ours == hashlib.sha256(FRONTEND_HTMX.read_bytes()).hexdigest()
    assert ours in (STATIC / "README.txt").read_text()
    assert (await get(f"{url}/static/dashboard.css"))[0] == 200


def export(trace: str = TRACE, root: str = "frontend") -> bytes:
    request = ExportTraceServiceRequest()
    for service, span_id, parent, status in (
        (root, "00f067aa0ba902b7", "", 0),
        ("orders", "00f067aa0ba902b8", "00f067aa0ba902b7", 2),
    ):
        resource = request.resource_spans.add()
        attribute: Any = resource.resource.attributes.add()
        attribute.key, attribute.value.string_value = "service.name", service
        span = resource.scope_spans.add().spans.add()
        span.trace_id, span.span_id = bytes.fromhex(trace), bytes.fromhex(span_id)
        span.parent_span_id = bytes.fromhex(parent)
        span.name, span.status.code = f"{service} work", status
        span.start_time_unix_nano, span.end_time_unix_nano = 1_000_000_000, 1_050_000_000
    return bytes(request.SerializeToString())
