"""The graph's colours and labels say what the legend says: grey idle, green fine, amber
slow, orange and red by the share of errors; an event edge dashed and coloured by lag."""

from __future__ import annotations

import re

import pytest
from mosaic.dashboard_graph import Edge, layout
from mosaic.dashboard_metrics import Traffic
from mosaic.dashboard_svg import BROKEN, FAILING, IDLE, OK, SLOW, colour, graph_svg, lag_colour


@pytest.mark.parametrize(
    ("traffic", "expected"),
    [
        (None, IDLE),
        (Traffic(), IDLE),
        (Traffic(rate=2.0, errors=0.0, p95=0.12), OK),
        (Traffic(rate=2.0, errors=0.0, p95=0.5), SLOW),
        (Traffic(rate=10.0, errors=0.1, p95=0.1), FAILING),  # 1 %
        (Traffic(rate=10.0, errors=1.0, p95=2.0), BROKEN),  # 10 %: errors before slowness
    ],
)
def test_colour_follows_errors_then_latency(traffic: Traffic | None, expected: str) -> None:
    assert colour(traffic) == expected


def test_lag_colour() -> None:
    assert [lag_colour(v) for v in (None, 0, 5, 100)] == [IDLE, OK, SLOW, BROKEN]


def test_the_svg_labels_each_node_and_edge_with_its_numbers() -> None:
    edges = [Edge("frontend", "orders"), Edge("orders", "notifications", event=True)]
    graph = layout(["frontend", "notifications", "orders"], edges, first="frontend")
    svg = graph_svg(
        graph,
        {"orders": Traffic(rate=4.0, errors=0.4, p95=0.25)},
        {("frontend", "orders"): Traffic(rate=4.0, errors=0.0, p95=0.3)},
        {("orders", "notifications"): 12.0},
    )
    orders = re.search(r'<g class="node" data-service="orders".*?</g>', svg)
    assert orders and f'fill="{BROKEN}"' in orders.group(0)
    assert "4.0/s · 10% err · p95 250 ms" in orders.group(0)
    assert 'data-service="frontend" data-rate="0.000"' in svg and "idle" in svg
    call = re.search(r'<g class="edge call" data-caller="frontend".*?</g>', svg)
    assert call and f'stroke="{OK}"' in call.group(0) and "4.0/s · p95 300 ms" in call.group(0)
    event = re.search(r'<g class="edge event".*?</g>', svg)
    assert event and "stroke-dasharray" in event.group(0) and "lag 12" in event.group(0)
    assert f'stroke="{SLOW}"' in event.group(0)
