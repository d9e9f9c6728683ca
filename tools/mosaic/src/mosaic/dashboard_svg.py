"""The service graph as inline SVG: each service and each edge coloured by its live
traffic (see `colour`), its numbers as labels. Presentation attributes only (no style
attributes), so the page's CSP needs no 'unsafe-inline'."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from mosaic.dashboard_graph import NODE_HEIGHT, NODE_WIDTH, Edge, Graph, edge_ends, label_places
from mosaic.dashboard_metrics import Traffic

IDLE, OK, SLOW, FAILING, BROKEN = "#c9ced6", "#3c9d5d", "#e3a33b", "#e3703b", "#c93434"
LEGEND = (
    (IDLE, "no traffic in the last ~10 s"),
    (OK, "traffic, under 1 % errors, p95 under 500 ms"),
    (SLOW, "p95 of 500 ms or more; event edge: lag under 100"),
    (FAILING, "1 % errors (5xx, timeouts, unreachable) or more"),
    (BROKEN, "10 % errors or more; event edge: lag of 100 or more"),
)


def colour(traffic: Traffic | None) -> str:
    if traffic is None or traffic.rate <= 0:
        return IDLE
    if traffic.error_ratio >= 0.10:
        return BROKEN
    if traffic.error_ratio >= 0.01:
        return FAILING
    if traffic.p95 is not None and traffic.p95 >= 0.5:
        return SLOW
    return OK


def lag_colour(lag: float | None) -> str:
    if lag is None:
        return IDLE
    return OK if lag == 0 else SLOW if lag < 100 else BROKEN


def describe(traffic: Traffic | None, short: bool = False) -> str:
    """A node's label; `short`, an edge's (errors only when there are any)."""
    if traffic is None or traffic.rate <= 0:
        return "" if short else "idle"
    p95 = "" if traffic.p95 is None else f" · p95 {traffic.p95 * 1000:.0f} ms"
    if short:
        errors = f" · {traffic.error_ratio:.0%} err" if traffic.errors else ""
        return f"{traffic.rate:.1f}/s{errors}{p95}"
    return f"{traffic.rate:.1f}/s · {traffic.error_ratio:.0%} err{p95}"


def graph_svg(
    graph: Graph,
    nodes: Mapping[str, Traffic],
    calls: Mapping[tuple[str, str], Traffic],
    lags: Mapping[tuple[str, str], float | None],
    workers: Mapping[str, float | None] | None = None,
) -> str:
    """`workers`: the services that serve no HTTP (only read events), with their lag."""
    workers = workers or {}
    parts = [
        f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {graph.width} '
        f'{graph.height}" width="{graph.width}" height="{graph.height}" role="img" '
        'aria-label="service graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'fill="#555"/></marker></defs>',
    ]
    labels = label_places(graph)
    for edge in graph.edges:
        traffic = calls.get((edge.caller, edge.callee))
        parts.append(_edge(graph, edge, traffic, lags, labels[edge]))
    for name, (x, y) in sorted(graph.positions.items()):
        if name in workers:
            parts.append(_worker(name, x, y, workers[name]))
        else:
            parts.append(_node(name, x, y, nodes.get(name)))
    parts.append("</svg>")
    return "".join(parts)


def _edge(
    graph: Graph,
    edge: Edge,
    traffic: Traffic | None,
    lags: Mapping[tuple[str, str], float | None],
    mid: tuple[int, int],
) -> str:
    start, end = edge_ends(graph, edge)
    if edge.event:
        lag = lags.get((edge.caller, edge.callee))
        fill, label, rate = (
            lag_colour(lag),
            "events" + ("" if lag is None else f" · lag {lag:.0f}"),
            0.0,
        )
        dash, width = ' stroke-dasharray="7 5"', 2.0
    else:
        fill, label = colour(traffic), describe(traffic, short=True)
        rate = traffic.rate if traffic else 0.0
        dash, width = "", 1.5 + min(rate, 20.0) / 4
    kind = "event" if edge.event else "call"
    return (
        f'<g class="edge {kind}" data-caller="{escape(edge.caller)}" '
        f'data-callee="{escape(edge.callee)}" data-rate="{rate:.3f}">'
        f'<line x1="{start[0]}" y1="{start[1]}" x2="{end[0]}" y2="{end[1]}" stroke="{fill}" '
        f'stroke-width="{width:.1f}"{dash} marker-end="url(#arrow)"/>'
        f'<text x="{mid[0]}" y="{mid[1]}" text-anchor="middle" font-size="10" fill="#222" '
        f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(label)}</text></g>'
    )


def _node(name: str, x: int, y: int, traffic: Traffic | None) -> str:
    rate = traffic.rate if traffic else 0.0
    return _box(name, x, y, rate, colour(traffic), describe(traffic))


def _worker(name: str, x: int, y: int, lag: float | None) -> str:
    """A service that only reads events: its colour and label are its consumers' lag."""
    label = "reads events" + ("" if lag is None else f" · lag {lag:.0f}")
    return _box(name, x, y, 0.0, lag_colour(lag), label)


def _box(name: str, x: int, y: int, rate: float, fill: str, label: str) -> str:
    left, top = x - NODE_WIDTH // 2, y - NODE_HEIGHT // 2
    return (
        f'<g class="node" data-service="{escape(name)}" data-rate="{rate:.3f}">'
        f'<rect x="{left}" y="{top}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8" '
        f'fill="{fill}" stroke="#333" stroke-width="1"/>'
        f'<text x="{x}" y="{y - 5}" text-anchor="middle" font-size="14" font-weight="bold" '
        f'fill="#111">{escape(name)}</text>'
        f'<text x="{x}" y="{y + 13}" text-anchor="middle" font-size="10" '
        f'fill="#111">{escape(label)}</text></g>'
    )


def legend_html() -> str:
    items = "".join(
        f'<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" '
        f'rx="3" fill="{fill}"/></svg> {escape(text)}</li>'
        for fill, text in LEGEND
    )
    return (
        f'<ul class="legend">{items}<li>dashed: an event stream (producer → consumer); '
        "thicker: more requests per second</li></ul>"
    )
