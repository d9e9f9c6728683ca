"""The service graph the dashboard draws: nodes are the services, edges the allowlisted
calls (`collect_policy`, as the NetworkPolicies get them) and the event streams
(`[tool.mosaic] consumes`), laid out in layers from the edge service down.

Deterministic, so the picture does not jump between refreshes: a service's layer is its
longest path from a root (the edge service first), and inside a layer services are ordered
by the mean position of their callers, then by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from mosaic.services import Service

COLUMN = 260  # px between layers, left to right: room for an edge's label
ROW = 84  # px between services of one layer
MARGIN = 70
NODE_WIDTH = 150
NODE_HEIGHT = 50


@dataclass(frozen=True, order=True)
class Edge:
    caller: str  # for an event edge, the producer
    callee: str  # for an event edge, the consumer
    event: bool = False


@dataclass(frozen=True)
class Graph:
    edges: tuple[Edge, ...]
    positions: dict[str, tuple[int, int]]  # service: centre (x, y)
    width: int
    height: int


def graph_edges(services: list[Service]) -> list[Edge]:
    from mosaic.network_policies import http_edges

    calls = [Edge(a, b) for a, b in sorted(set(http_edges(services)))]
    events = sorted(Edge(p, s.name, event=True) for s in services for p in s.consumes)
    return calls + events


def layout(names: list[str], edges: list[Edge], first: str | None = None) -> Graph:
    """Layers left to right; `first` (the edge service) alone in the first layer."""
    layer = dict.fromkeys(names, 0)
    for _ in names:  # longest path; at most len(names) rounds in an acyclic graph
        changed = False
        for edge in edges:
            if edge.caller in layer and edge.callee in layer and edge.callee != first:
                wanted = layer[edge.caller] + 1
                if layer[edge.callee] < wanted and wanted < len(names):
                    layer[edge.callee], changed = wanted, True
        if not changed:
            break
    if first in layer:
        layer = {n: (0 if n == first else max(layer[n], 1)) for n in names}
    columns: dict[int, list[str]] = {}
    for name in sorted(names):
        columns.setdefault(layer[name], []).append(name)
    rows: dict[str, float] = {}
    for depth in sorted(columns):

        def parents_mean(name: str) -> float:
            above = [rows[e.caller] for e in edges if e.callee == name and e.caller in rows]
            return sum(above) / len(above) if above else 0.0

        ordered = sorted(columns[depth], key=lambda n: (parents_mean(n), n))
        columns[depth] = ordered
        for index, name in enumerate(ordered):
            rows[name] = float(index)
    tallest = max((len(c) for c in columns.values()), default=1)
    positions: dict[str, tuple[int, int]] = {}
    for depth, column in columns.items():
        offset = (tallest - len(column)) * ROW // 2  # each column centred
        for index, name in enumerate(column):
            positions[name] = (
                MARGIN + NODE_WIDTH // 2 + depth * COLUMN,
                MARGIN + offset + index * ROW,
            )
    width = 2 * MARGIN + NODE_WIDTH + (max(columns, default=0)) * COLUMN
    height = 2 * MARGIN + (tallest - 1) * ROW
    return Graph(tuple(edges), positions, width, height)
