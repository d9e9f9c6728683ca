"""The dashboard's HTML: the live panel (graph, health, backlog, recent traces) the page
polls every 2 s with htmx, one trace's waterfall, and one trace's log lines. Plain
server-rendered HTML and SVG; without JavaScript the page's refresh link does the same."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from mosaic.log_reading import Entry

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#e15759",
    "#bab0ac",
    "#ff9da7",
    "#17becf",
)
WATERFALL_WIDTH = 640  # px of the time axis


def page(title: str, body: str, *, live: bool = False) -> str:
    poll = (
        f'<div id="live" hx-get="/live" hx-trigger="every 2s" hx-swap="innerHTML">{body}</div>'
        if live
        else body
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title>"
        '<meta name="htmx-config" content=\'{"includeIndicatorStyles":false}\'>'
        '<link rel="stylesheet" href="/static/dashboard.css">'
        '<script src="/static/htmx.min.js" defer></script></head><body>'
        f'<header><h1><a href="/">Mosaic</a> · {escape(title)}</h1>'
        '<a class="refresh" href="">refresh</a></header>'
        f"{poll}</body></html>"
    )


def live_panel(svg: str, legend: str, health: str, backlog: str, traces: str, quiet: bool) -> str:
    note = '<p class="empty">No traffic yet: open the shop and place an order.</p>' if quiet else ""
    return (
        f'<section><h2>Service graph</h2>{note}<div class="graph">{svg}</div>{legend}</section>'
        f'<div class="columns"><section><h2>Processes</h2>{health}</section>'
        f"<section><h2>Outbox and consumer lag</h2>{backlog}</section></div>"
        f'<section><h2>Recent traces</h2>{traces}<p class="muted">Shoppers\' requests '
        'only (traces that began at the edge); <a href="/api/traces">every trace</a> as JSON.'
        "</p></section>"
    )


def health_table(processes: Iterable[Mapping[str, Any]]) -> str:
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for process in processes:
        by_service.setdefault(str(process["service"]), []).append(process)
    if not by_service:
        return '<p class="empty">No processes yet: the shop is starting.</p>'
    rows = []
    for service, found in sorted(by_service.items()):
        kinds: dict[str, list[str]] = {}
        for process in found:
            kinds.setdefault(str(process["process"]), []).append(str(process["state"]))
        cells = " ".join(
            f'<span class="proc">{escape(kind)} x{len(states)}: '
            + ", ".join(f'<b class="state {escape(s)}">{escape(s)}</b>' for s in states)
            + "</span>"
            for kind, states in kinds.items()
        )
        restarts = sum(int(p.get("restarts") or 0) for p in found)
        rows.append(
            f'<tr data-service="{escape(service)}"><td>{escape(service)}</td><td>{cells}</td>'
            f"<td>{restarts}</td></tr>"
        )
    return (
        "<table><tr><th>Service</th><th>Processes (replicas: state)</th><th>Restarts</th></tr>"
        f"{''.join(rows)}</table>"
    )


def backlog_table(
    outboxes: Mapping[str, tuple[float, float | None]],
    streams: Iterable[tuple[str, str, str, float, float | None]],
) -> str:
    rows = [
        f"<tr><td>{escape(s)}</td><td>outbox</td><td>{pending:.0f} pending</td>"
        f"<td>{'' if age is None else f'oldest {age:.1f} s'}</td></tr>"
        for s, (pending, age) in sorted(outboxes.items())
    ]
    rows += [
        f"<tr><td>{escape(service)}</td><td>{escape(stream)} ({escape(group)})</td>"
        f"<td>lag {lag:.0f}</td><td>{'' if pending is None else f'{pending:.0f} pending'}</td></tr>"
        for service, stream, group, lag, pending in sorted(streams)
    ]
    if not rows:
        return '<p class="empty">No outbox or consumer reported yet.</p>'
    return (
        "<table><tr><th>Service</th><th>Of</th><th>Backlog</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def traces_table(recent: list[dict[str, Any]]) -> str:
    if not recent:
        return '<p class="empty">No traces yet: open the shop and place an order.</p>'
    rows = "".join(
        f'<tr class="{"error" if t["error"] else ""}"><td>{_clock(t["start"])}</td>'
        f'<td><a class="trace" href="/traces/{t["trace_id"]}">{escape(t["name"])}</a></td>'
        f"<td>{escape(t['service'])}</td><td>{t['spans']}</td>"
        f"<td>{t['duration_ms']:.1f} ms</td><td>{escape(', '.join(t['services']))}</td></tr>"
        for t in recent
    )
    return (
        "<table><tr><th>Start</th><th>Root span</th><th>Service</th><th>Spans</th>"
        f"<th>Duration</th><th>Services</th></tr>{rows}</table>"
    )


def service_colours(services: Iterable[str]) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(set(services)))}


def waterfall(trace_id: str, spans: list[dict[str, Any]]) -> str:
    """Spans as bars on one time axis, in start order, indented by their depth."""
    ids = {s["span_id"]: s for s in spans}
    start = min(s["start"] for s in spans)
    total = max(max(s["start"] + s["duration_ms"] / 1000 for s in spans) - start, 1e-6)
    colours = service_colours(s["service"] for s in spans)
    rows = []
    for span in spans:
        depth, parent = 0, span["parent_id"]
        while parent in ids and depth < 50:
            depth, parent = depth + 1, ids[parent]["parent_id"]
        x = (span["start"] - start) / total * WATERFALL_WIDTH
        width = max(span["duration_ms"] / 1000 / total * WATERFALL_WIDTH, 1.0)
        error = span["status"] == "error"
        outline = ' stroke="#c93434" stroke-width="2"' if error else ""
        link = f"/traces/{trace_id}/logs?service={escape(span['service'])}"
        rows.append(
            f'<tr class="span{" error" if error else ""}" data-service="{escape(span["service"])}">'
            f'<td class="depth-{min(depth, 12)}">{escape(span["name"])}</td>'
            f"<td>{escape(span['service'])}</td><td>{span['kind']}</td>"
            f'<td><svg width="{WATERFALL_WIDTH}" height="14"><rect x="{x:.1f}" y="2" '
            f'width="{width:.1f}" height="10" fill="{colours[span["service"]]}"'
            f"{outline}/></svg></td>"
            f"<td>{span['duration_ms']:.1f} ms</td><td>{escape(span['status'])}</td>"
            f'<td><a class="logs" href="{link}">logs</a></td></tr>'
        )
    legend = " ".join(
        f'<span class="proc"><svg width="12" height="12"><rect width="12" height="12" '
        f'fill="{c}"/></svg> {escape(s)}</span>'
        for s, c in colours.items()
    )
    return (
        f"<p>{len(spans)} spans over {total * 1000:.1f} ms from {_clock(start)}; {legend}. "
        f'<a href="/traces/{trace_id}/logs">every log line of this trace</a> '
        f"(<code>mosaic logs --trace {trace_id}</code>)</p>"
        '<table class="waterfall"><tr><th>Span</th><th>Service</th><th>Kind</th>'
        f"<th>Time</th><th>Duration</th><th>Status</th><th></th></tr>{''.join(rows)}</table>"
    )


def log_lines(trace_id: str, service: str | None, entries: list[Entry]) -> str:
    command = f"mosaic logs {escape(service) + ' ' if service else ''}--trace {trace_id}"
    if not entries:
        where = f" in {escape(service)}" if service else ""
        return (
            f'<p class="empty">No log lines of this trace{where} yet  (<code>{command}</code>).</p>'
        )
    rows = "".join(
        f'<tr class="logline"><td>{e.when.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]}</td>'
        f"<td>{escape(e.process)}</td><td>{escape(e.level)}</td>"
        f"<td>{escape(str(e.record.get('event', '')))}</td>"
        f'<td class="raw">{escape(e.line)}</td></tr>'
        for e in entries
    )
    return (
        f'<p><a href="/traces/{trace_id}">back to the trace</a> · the same as '
        f"<code>{command}</code></p>"
        "<table><tr><th>Time (UTC)</th><th>Process</th><th>Level</th><th>Event</th>"
        f"<th>Line</th></tr>{rows}</table>"
    )


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")
