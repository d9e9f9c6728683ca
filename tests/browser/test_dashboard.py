"""The runner's live dashboard in a real browser, under a real `mosaic up` and a short
load (a few checkouts through the frontend): every service and every allowlisted call is
drawn, the page's own polling shows a call's rate move above zero, a checkout's trace opens
as a waterfall of several services, and a span's log link shows that trace's log lines.
Screenshots go to the artifacts folder; the page must cause no console error (a CSP
violation by an inline script or style would be one)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mosaic.network_policies import http_edges
from mosaic.ports import free_port
from mosaic.services import discover_services
from mosaic_testing import CHECKOUT_SERVICES, Shopper, UpProcess, trace_of_request, wait_until
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.system, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Shop:
    home: Path
    url: str
    dashboard: str


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("dashboard") / "home"
    port, dashboard = free_port(), free_port()
    args = ("--dashboard-port", str(dashboard), "--mail-port", str(free_port()))
    with UpProcess(home, port, *args) as up:
        up.wait_ready(timeout=180)
        line = up.wait_for("Dashboard:", timeout=30)  # printed under the ready line
        assert line.endswith(f"Dashboard: http://127.0.0.1:{dashboard}")
        yield Shop(home, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dashboard}")


def checkout(url: str) -> str:
    """One order through the frontend; its request id."""
    with Shopper(url) as shopper:
        shopper.add_to_cart(shopper.products()[0], 1)
        answer = shopper.place_order(shopper.checkout_form())
    assert answer.status_code == 303, answer.text
    return answer.headers["x-request-id"]


def call_rates(page: Page) -> list[float]:
    rates = page.locator("g.edge.call").evaluate_all(
        "edges => edges.map(e => e.getAttribute('data-rate'))"
    )
    return [float(r) for r in rates]


@pytest.mark.timeout(420)
def test_the_dashboard_shows_the_shop_moving_and_a_checkouts_trace(
    shop: Shop, browser: Browser, artifacts: Path
) -> None:
    services = discover_services(REPO / "services")
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(shop.dashboard)

    for service in services:
        expect(page.locator(f'g.node[data-service="{service.name}"]')).to_have_count(1)
    for caller, callee in http_edges(services):
        edge = page.locator(f'g.edge.call[data-caller="{caller}"][data-callee="{callee}"]')
        expect(edge).to_have_count(1)
    for consumer in services:
        for producer in consumer.consumes:
            event = f'g.edge.event[data-caller="{producer}"][data-callee="{consumer.name}"]'
            expect(page.locator(event)).to_have_count(1)

    # A short load while the page stays open: its own polling must show a call's rate.
    request_ids = []
    for _ in range(8):
        request_ids.append(checkout(shop.url))
        httpx.get(shop.url, timeout=30)
        if any(rate > 0 for rate in call_rates(page)):
            break
    wait_until(
        lambda: any(rate > 0 for rate in call_rates(page)), 30, "a call edge with a rate above 0"
    )
    expect(page.locator("g.node[data-service=orders]")).not_to_have_attribute("data-rate", "0.000")
    expect(page.locator("a.trace").first).to_be_visible()
    page.screenshot(path=artifacts / "dashboard-graph.png", full_page=True)

    trace_id = trace_of_request(shop.home, request_ids[-1])

    def whole() -> bool:
        answer = httpx.get(f"{shop.dashboard}/api/traces/{trace_id}", timeout=10)
        found = {s["service"] for s in answer.json()["spans"]} if answer.is_success else set()
        return found >= CHECKOUT_SERVICES

    wait_until(whole, 60, "the checkout's spans of every service at the runner")
    page.goto(f"{shop.dashboard}/traces/{trace_id}")
    spans = page.locator("tr.span")
    expect(spans.first).to_be_visible()
    shown = set(spans.evaluate_all("rows => rows.map(r => r.getAttribute('data-service'))"))
    assert shown >= CHECKOUT_SERVICES, shown
    page.screenshot(path=artifacts / "dashboard-trace.png", full_page=True)

    page.locator('tr.span[data-service="orders"] a.logs').first.click()
    expect(page).to_have_url(re.compile(rf"/traces/{trace_id}/logs\?service=orders$"))
    lines = page.locator("tr.logline")
    expect(lines.first).to_be_visible()
    raw = lines.locator("td.raw").all_inner_texts()
    assert raw and all(trace_id in line and '"orders' in line for line in raw), raw[:3]
    page.screenshot(path=artifacts / "dashboard-logs.png", full_page=True)
    assert not errors, errors
