"""The service graph the dashboard draws: nodes are the services, edges the allowlisted
calls (`collect_policy`, as the NetworkPolicies get them) and the event streams
(`[tool.mosaic] consumes`), laid out in layers from the edge service down.

Deterministic, so the picture does not jump between refreshes: a service's layer is its
longest path from a root (the edge service first), and inside a layer services are ordered
by the mean position of their callers, then by name.
"""

from __future__ import annotations

import math
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


Point = tuple[int, int]
Box = tuple[float, float, float, float]  # left, top, right, bottom

# An edge label's box: wide enough for "99.9/s · 10% err · p95 999 ms" at 10 px, the label
# of a busy, failing, slowish call. Fixed rather than measured, so a label's place does not
# move with its numbers between refreshes.
LABEL_WIDTH = 160
LABEL_HEIGHT = 13  # 10 px text: from 10 px above its baseline to 3 px below
# Where along its edge a label may go, best first: near the callee (where the fan of one
# caller's edges is widest) at 0.62, then ever further from there.
_ALONG = sorted((step / 50 for step in range(5, 46)), key=lambda t: (abs(t - 0.62), t))


def edge_ends(graph: Graph, edge: Edge) -> tuple[Point, Point]:
    """Where an edge's line starts and ends: on the sides (or tops) of its two boxes."""
    (x1, y1), (x2, y2) = graph.positions[edge.caller], graph.positions[edge.callee]
    half = NODE_WIDTH // 2
    if x2 > x1:
        return (x1 + half, y1), (x2 - half, y2)
    if x2 < x1:
        return (x1 - half, y1), (x2 + half, y2)
    down = 1 if y2 > y1 else -1  # one layer: from the bottom of one to the top of the other
    return (x1, y1 + down * NODE_HEIGHT // 2), (x2, y2 - down * NODE_HEIGHT // 2)


def label_box(at: Point) -> Box:
    """The box of a label whose text is centred on `at` (x) with its baseline there (y)."""
    x, y = at
    return (x - LABEL_WIDTH / 2, y - 10, x + LABEL_WIDTH / 2, y + 3)


def _overlaps(one: Box, other: Box) -> bool:
    return one[0] < other[2] and other[0] < one[2] and one[1] < other[3] and other[1] < one[3]


def label_places(graph: Graph) -> dict[Edge, Point]:
    """Where each edge's label goes (its text's centre and baseline): on its own line (or
    just above or below it), where it covers no other label and, where it can, no service;
    the shortest edges first (they have the fewest places), each taking the best free place.
    Where one caller fans out, its labels would otherwise sit on top of each other.
    Deterministic, as the layout is."""
    nodes = [
        (x - NODE_WIDTH / 2, y - NODE_HEIGHT / 2, x + NODE_WIDTH / 2, y + NODE_HEIGHT / 2)
        for x, y in graph.positions.values()
    ]
    placed: dict[Edge, Point] = {}
    boxes: list[Box] = []
    for edge in sorted(graph.edges, key=lambda e: (_length(graph, e), e)):
        (x1, y1), (x2, y2) = edge_ends(graph, edge)
        along = [
            (round(x1 + (x2 - x1) * t), round(y1 + (y2 - y1) * t) - 3 + shift)
            for shift in (0, -LABEL_HEIGHT, LABEL_HEIGHT)  # on the line, else just beside it
            for t in _ALONG
        ]
        free = [p for p in along if not any(_overlaps(label_box(p), b) for b in boxes)]
        clear = [p for p in free if not any(_overlaps(label_box(p), n) for n in nodes)]
        if clear or free:
            at = (clear or free)[0]
        else:  # every place on the line is taken: the best one, moved down until free
            at = along[0]
            while any(_overlaps(label_box(at), b) for b in boxes):
                at = (at[0], at[1] + LABEL_HEIGHT)
        placed[edge] = at
        boxes.append(label_box(at))
    return placed


def _length(graph: Graph, edge: Edge) -> float:
    (x1, y1), (x2, y2) = edge_ends(graph, edge)
    return float(math.hypot(x2 - x1, y2 - y1))
