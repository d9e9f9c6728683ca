"""The runner's dashboard port under `mosaic up`: the OTLP/HTTP receiver the processes
export their spans to, the traces as JSON, and for now a plain page listing them (the
dashboard of issue 14 item 4 replaces the page; the JSON stays its source).

- `POST /v1/traces`: OTLP/HTTP with a protobuf body, as the SDK's exporter sends it
  (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`); answered with an empty export response.
- `GET /api/traces?limit=N`: the latest traces first (summaries).
- `GET /api/traces/{trace_id}`: one trace's spans: name, service, kind, start, duration,
  status, parent, attributes.
"""

from html import escape

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from mosaic.traces import TraceStore

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_EXPORT_BYTES = 16 * 1024 * 1024  # one export request; the SDK sends 512 spans at most
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'"
_STYLE = """body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;
text-align:left}.error{color:#b00}.muted{color:#777}"""


def create_dashboard_app(store: TraceStore) -> web.Application:
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

    async def page(_: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{t['start']:.3f}</td><td>{escape(t['name'])}</td>"
            f"<td>{escape(t['service'])}</td><td>{t['spans']}</td>"
            f"<td>{t['duration_ms']:.1f} ms</td><td>{escape(', '.join(t['services']))}</td>"
            f'<td><a href="/api/traces/{t["trace_id"]}"'
            f"{' class=error' if t['error'] else ''}>{t['trace_id']}</a></td></tr>"
            for t in store.recent(DEFAULT_LIMIT)
        )
        table = (
            "<table><tr><th>Start (epoch s)</th><th>Root span</th><th>Service</th><th>Spans</th>"
            f"<th>Duration</th><th>Services</th><th>Trace</th></tr>{rows}</table>"
            if rows
            else '<p class="muted">No traces yet: open the shop and click around.</p>'
        )
        html = (
            f"<!doctype html><html><head><meta charset=utf-8><title>Mosaic traces</title>"
            f"<style>{_STYLE}</style></head><body><h1>Recent traces</h1>{table}</body></html>"
        )
        return web.Response(
            text=html, content_type="text/html", headers={"Content-Security-Policy": _PAGE_CSP}
        )

    app = web.Application(client_max_size=MAX_EXPORT_BYTES)
    app.router.add_post("/v1/traces", receive)
    app.router.add_get("/api/traces", traces)
    app.router.add_get("/api/traces/{trace_id}", one_trace)
    app.router.add_get("/", page)
    return app


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 0 < int(raw) <= MAX_LIMIT:
        raise web.HTTPBadRequest(text=f"limit must be a whole number from 1 to {MAX_LIMIT}\n")
    return int(raw)


async def start_dashboard(store: TraceStore, port: int) -> tuple[web.AppRunner, int]:
    """Serve on 127.0.0.1:`port` (0: any free port); the runner and the port taken.
    Raises OSError when the port is in use."""
    runner = web.AppRunner(create_dashboard_app(store), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])
