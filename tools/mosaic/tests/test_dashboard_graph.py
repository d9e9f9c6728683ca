"""The dashboard's service graph: every allowlisted call and event stream of the real
services is an edge, and the layout is layered from the edge service, deterministic, and
never puts two services in one place."""

from __future__ import annotations

from pathlib import Path

from mosaic.dashboard_graph import Edge, graph_edges, layout
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
