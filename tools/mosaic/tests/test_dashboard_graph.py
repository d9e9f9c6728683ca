"""The dashboard's service graph: every allowlisted call and event stream of the real
services is an edge, and the layout is layered from the edge service, deterministic, and
never puts two services in one place."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from mosaic.dashboard_graph import (
    LABEL_HEIGHT,
    Edge,
    edge_ends,
    graph_edges,
    label_box,
    label_places,
    layout,
)
from mosaic.network_policies import http_edges
from mosaic.services import discover_services

SERVICES = Path(__file__).resolve().parents[3] / "services"


def test_the_shops_graph_holds_every_allowlisted_call_and_event_stream() -> None:
    services = discover_services(SERVICES)
    edges = graph_edges(services)
    calls = {(e.caller, e.callee) for e in edges if not e.event}
    assert calls == set(http_edges(services))
    events = {(e.caller, e.callee) for e in edges if e.event}
    assert ("orders", "notifications") in events
    assert events == {(p, s.name) for s in services for p in s.consumes}


def test_layers_follow_the_calls_from_the_edge() -> None:
    edges = [
        Edge("frontend", "orders"),
        Edge("frontend", "catalog"),
        Edge("orders", "payments"),
        Edge("orders", "catalog"),
        Edge("orders", "notifications", event=True),
    ]
    names = ["catalog", "frontend", "notifications", "orders", "payments"]
    graph = layout(names, edges, first="frontend")
    column = {name: x for name, (x, _) in graph.positions.items()}
    assert column["frontend"] < column["orders"] < column["payments"]
    assert column["catalog"] == column["payments"] == column["notifications"]  # longest path
    assert len(set(graph.positions.values())) == len(names)
    assert all(0 < x < graph.width and 0 < y < graph.height for x, y in graph.positions.values())


def test_the_layout_is_the_same_whatever_order_it_is_given() -> None:
    edges = [Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d"), Edge("b", "c")]
    one = layout(["a", "b", "c", "d"], edges, first="a")
    other = layout(["d", "c", "b", "a"], list(reversed(edges)), first="a")
    assert one.positions == other.positions


def test_a_cycle_does_not_loop_forever() -> None:
    graph = layout(["a", "b"], [Edge("a", "b"), Edge("b", "a")], first="a")
    assert set(graph.positions) == {"a", "b"}


def test_no_two_edge_labels_of_the_shops_graph_overlap() -> None:
    """Where one caller fans out (the frontend calls seven services), each label still has
    a place of its own, on its own edge and inside the picture."""
    services = discover_services(SERVICES)
    graph = layout([s.name for s in services], graph_edges(services), first="frontend")
    places = label_places(graph)
    assert set(places) == set(graph.edges)
    boxes = {edge: label_box(at) for edge, at in places.items()}
    for one, other in combinations(sorted(boxes), 2):
        a, b = boxes[one], boxes[other]
        apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        assert apart, f"the labels of {one} and {other} overlap: {a}, {b}"
    for edge, (left, top, right, bottom) in boxes.items():
        assert left >= 0 and right <= graph.width and top >= 0 and bottom <= graph.height, edge
        (x1, y1), (x2, y2) = edge_ends(graph, edge)
        x, y = places[edge]
        beside = min(y1, y2) - 3 - LABEL_HEIGHT <= y <= max(y1, y2) - 3 + LABEL_HEIGHT
        assert min(x1, x2) <= x <= max(x1, x2) and beside, edge
