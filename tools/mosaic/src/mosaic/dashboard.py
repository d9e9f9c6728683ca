"""The runner's dashboard port under `mosaic up`: the OTLP/HTTP receiver the processes
export their spans to, the traces as JSON, and the live dashboard.

- `POST /v1/traces`: OTLP/HTTP with a protobuf body, as the SDK's exporter sends it
  (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`); answered with an empty export response.
- `GET /api/traces?limit=N`: the latest traces first (summaries).
- `GET /api/traces/{trace_id}`: one trace's spans: name, service, kind, start, duration,
  status, parent, attributes.
- `GET /`: the dashboard; `GET /live` its live panel, which the page polls (htmx) every
  2 s: the service graph coloured by the services' own `/metrics` (`mosaic.dashboard_scrape`),
  the processes' states, outbox and consumer lag, recent traces.
- `GET /traces/{trace_id}`: one trace's waterfall; `GET /traces/{trace_id}/logs?service=S`:
  its log lines, read from the runner's log files as `mosaic logs --trace` reads them.

Everything shown comes from what Prometheus and an OTLP collector would see: the ops ports'
`/metrics` and the exported spans; the runner's process table adds only the states.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from mosaic.dashboard_graph import Edge, Graph, layout
from mosaic.dashboard_metrics import Scrape, Traffic, call_traffic, gauge, gauge_max, server_traffic
from mosaic.dashboard_pages import (
    backlog_table,
    health_table,
    live_panel,
    log_lines,
    page,
    traces_table,
    waterfall,
)
from mosaic.dashboard_scrape import Scraper
from mosaic.dashboard_svg import graph_svg, legend_html
from mosaic.log_reading import LogFilter, read_entries
from mosaic.traces import TraceStore

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
RECENT_SHOWN = 15
RECENT_LOOKED_AT = 300  # traces searched for the shoppers' ones
MAX_LOG_LINES = 2000
MAX_EXPORT_BYTES = 16 * 1024 * 1024  # one export request; the SDK sends 512 spans at most
STATIC = Path(__file__).parent / "static"
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_LAG = "mosaic_stream_consumer_lag_entries"
_PENDING = "mosaic_stream_pending_entries"


@dataclass
class Shop:
    """What the dashboard knows about the shop besides spans: its services and edges (for
    the graph), the runner's process table and where the log files are. Empty for a bare
    trace receiver."""

    services: list[str] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    first: str | None = None  # the edge service
    workers: frozenset[str] = frozenset()  # services that serve no HTTP, only read events
    processes: Callable[[], list[dict[str, Any]]] = list
    logs: Path | None = None


def create_dashboard_app(store: TraceStore, shop: Shop | None = None) -> web.Application:
    shop = shop or Shop()
    scraper = Scraper(shop.processes)
    drawn: dict[tuple[Edge, ...], Graph] = {}  # the layout of the edges known, made once

    def graph() -> Graph:
        """The layout of the edges as they are now: `mosaic up` learns them after the
        dashboard started (mosaic.dashboard_edges), so a layout made at creation had none."""
        edges = tuple(shop.edges)
        if edges not in drawn:
            drawn.clear()
            drawn[edges] = layout(shop.services, list(edges), shop.first)
        return drawn[edges]

    async def receive(request: web.Request) -> web.Response:
        if request.content_type != "application/x-protobuf":
            raise web.HTTPUnsupportedMediaType(text="send OTLP/HTTP with a protobuf body\n")
        try:
            store.add_export(await request.read())
        except ValueError as error:
            raise web.HTTPBadRequest(text=f"{error}\n") from None
        answer = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    async def traces(request: web.Request) -> web.Response:
        return web.json_response(store.recent(_limit(request)))

    async def one_trace(request: web.Request) -> web.Response:
        trace_id = request.match_info["trace_id"].lower()
        spans = store.spans(trace_id)
        if spans is None:
            raise web.HTTPNotFound(text=f"no trace {trace_id} (yet, or any more)\n")
        return web.json_response({"trace_id": trace_id, "spans": spans})

    def live() -> str:
        scraper.watched()
        window = scraper.window()
        nodes, calls, lags = _traffic(window, shop.services, shop.edges)
        latest = window[1] if window else Scrape(0.0)
        return live_panel(
            graph_svg(graph(), nodes, calls, lags, _worker_lags(shop.workers, lags)),
            legend_html(),
            health_table(shop.processes()),
            backlog_table(_outboxes(latest, shop.services), _streams(latest)),
            traces_table(_shoppers_traces(store, shop.first)),
            quiet=not any(t.rate for t in nodes.values()),
        )

    async def dashboard(_: web.Request) -> web.Response:
        return _html(page("dashboard", live(), live=True))

    async def live_fragment(_: web.Request) -> web.Response:
        return _html(live())

    async def trace_page(request: web.Request) -> web.Response:
        trace_id = _trace_id(request)
        spans = store.spans(trace_id)
        if spans is None:
            raise web.HTTPNotFound(text=f"no trace {trace_id} (yet, or any more)\n")
        return _html(page(f"trace {trace_id}", waterfall(trace_id, spans)))

    async def trace_logs(request: web.Request) -> web.Response:
        trace_id = _trace_id(request)
        service = request.query.get("service") or None
        if service is not None and service not in shop.services:
            raise web.HTTPBadRequest(text=f"unknown service {service!r}\n")
        if shop.logs is None:
            raise web.HTTPNotFound(text="this runner keeps no log files\n")
        keep = LogFilter(services=(service,) if service else (), trace=trace_id)
        folder = shop.logs
        entries = await asyncio.to_thread(
            lambda: list(islice(read_entries(folder, keep), MAX_LOG_LINES))
        )
        title = f"logs of trace {trace_id}" + (f" in {service}" if service else "")
        return _html(page(title, log_lines(trace_id, service, entries)))

    async def scraping(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(scraper.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app = web.Application(client_max_size=MAX_EXPORT_BYTES)
    app.router.add_post("/v1/traces", receive)
    app.router.add_get("/api/traces", traces)
    app.router.add_get("/api/traces/{trace_id}", one_trace)
    app.router.add_get("/", dashboard)
    app.router.add_get("/live", live_fragment)
    app.router.add_get("/traces/{trace_id}", trace_page)
    app.router.add_get("/traces/{trace_id}/logs", trace_logs)
    app.router.add_static("/static", STATIC)
    app.router.add_get("/favicon.ico", _no_icon)
    if shop.services:
        app.cleanup_ctx.append(scraping)
    return app


def _traffic(
    window: tuple[Scrape, Scrape] | None, services: list[str], edges: list[Edge]
) -> tuple[dict[str, Traffic], dict[tuple[str, str], Traffic], dict[tuple[str, str], float | None]]:
    if window is None:
        return {}, {}, {}
    before, after = window
    nodes = {s: server_traffic(before, after, s) for s in services}
    calls = {
        (e.caller, e.callee): call_traffic(before, after, e.caller, e.callee)
        for e in edges
        if not e.event
    }
    lags = {
        (e.caller, e.callee): gauge(after, _LAG, service=e.callee, stream=f"events:{e.caller}")
        for e in edges
        if e.event
    }
    return nodes, calls, lags


def _shoppers_traces(store: TraceStore, edge: str | None) -> list[dict[str, Any]]:
    """The latest traces that began at the edge service (what a shopper did): a checkout
    stays in sight while services' own traces (jobs, a call without context) come and go;
    `/api/traces` lists them all. Summed up one by one, as far as needed: this runs at
    every poll."""
    recent: Iterator[dict[str, Any]] = islice(store.summaries(), RECENT_LOOKED_AT)
    if edge is not None:
        recent = (t for t in recent if t["service"] == edge)
    return list(islice(recent, RECENT_SHOWN))


def _worker_lags(
    workers: frozenset[str], lags: dict[tuple[str, str], float | None]
) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for worker in workers:
        known = [
            lag for (_, consumer), lag in lags.items() if consumer == worker and lag is not None
        ]
        found[worker] = sum(known) if known else None
    return found


def _outboxes(scrape: Scrape, services: list[str]) -> dict[str, tuple[float, float | None]]:
    found = {}
    for service in services:
        pending = gauge(scrape, "mosaic_outbox_pending_events", service=service)
        if pending is not None:
            age = gauge_max(scrape, "mosaic_outbox_oldest_pending_age_seconds", service=service)
            found[service] = (pending, age)
    return found


def _streams(scrape: Scrape) -> list[tuple[str, str, str, float, float | None]]:
    keys = {
        (labels["service"], labels["stream"], labels["group"])
        for samples in scrape.targets.values()
        for (name, pairs), _ in samples.items()
        if name == _LAG and {"service", "stream", "group"} <= (labels := dict(pairs)).keys()
    }
    rows = []
    for service, stream, group in sorted(keys):
        match = {"service": service, "stream": stream, "group": group}
        lag = gauge(scrape, _LAG, **match) or 0.0
        rows.append((service, stream, group, lag, gauge(scrape, _PENDING, **match)))
    return rows


async def _no_icon(_: web.Request) -> web.Response:
    return web.Response(status=204)  # browsers ask; a 404 would be a console error


def _html(text: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/html",
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store"},
    )


def _trace_id(request: web.Request) -> str:
    trace_id = request.match_info["trace_id"].lower()
    if not _TRACE_ID.fullmatch(trace_id):
        raise web.HTTPBadRequest(text="a trace id is 32 hexadecimal digits\n")
    return trace_id


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 0 < int(raw) <= MAX_LIMIT:
        raise web.HTTPBadRequest(text=f"limit must be a whole number from 1 to {MAX_LIMIT}\n")
    return int(raw)


async def start_dashboard(
    store: TraceStore, port: int, shop: Shop | None = None
) -> tuple[web.AppRunner, int]:
    """Serve on 127.0.0.1:`port` (0: any free port); the runner and the port taken.
    Raises OSError when the port is in use."""
    runner = web.AppRunner(create_dashboard_app(store, shop), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])
