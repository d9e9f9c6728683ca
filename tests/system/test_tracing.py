"""Tracing under a real `mosaic up`: one checkout through the frontend is ONE connected
trace in the runner's receiver, holding spans of every service the saga calls and, through
the order's event, notifications' handling and its e-mail; `mosaic logs --trace` finds the
same trace's lines. At sampling 0 nothing is exported, and the shop still works."""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import (
    CHECKOUT_SERVICES,
    Shopper,
    UpProcess,
    mosaic,
    trace_of_request,
    wait_until,
)

pytestmark = pytest.mark.system


@dataclass
class Shop:
    up: UpProcess
    home: Path
    url: str
    dashboard: str

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.dashboard}/api/traces/{trace_id}", timeout=10)
        if answer.status_code == 404:
            return []
        answer.raise_for_status()
        spans: list[dict[str, Any]] = answer.json()["spans"]
        return spans


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("tracing") / "home"
    port, dashboard = free_port(), free_port()
    args = ("--dashboard-port", str(dashboard), "--mail-port", str(free_port()))
    with UpProcess(home, port, *args) as up:
        up.wait_ready(timeout=180)
        line = up.wait_for("Dashboard:", timeout=30)  # printed under the ready line
        assert line.endswith(f"Dashboard: http://127.0.0.1:{dashboard}")
        yield Shop(up, home, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dashboard}")


def checkout(url: str) -> httpx.Response:
    with Shopper(url) as shopper:
        shopper.add_to_cart(shopper.products()[0], 1)
        return shopper.place_order(shopper.checkout_form())


def connected(spans: list[dict[str, Any]]) -> bool:
    """One root, and every other span's parent is in the trace."""
    ids = {span["span_id"] for span in spans}
    roots = [span for span in spans if span["parent_id"] is None]
    return len(roots) == 1 and all(s["parent_id"] in ids for s in spans if s["parent_id"])


@pytest.mark.timeout(300)
def test_one_checkout_is_one_connected_trace_through_the_event(shop: Shop) -> None:
    answer = checkout(shop.url)
    assert answer.status_code == 303, answer.text
    trace_id = trace_of_request(shop.home, answer.headers["x-request-id"])
    wanted = CHECKOUT_SERVICES | {"notifications"}

    def complete() -> bool:
        spans = shop.spans(trace_id)
        services = {span["service"] for span in spans}
        sent = any(s["name"] == "smtp send" and s["service"] == "notifications" for s in spans)
        return services >= wanted and sent and connected(spans)

    wait_until(complete, 60, "the checkout's whole trace at the runner's receiver")
    spans = shop.spans(trace_id)
    [root] = [span for span in spans if span["parent_id"] is None]
    assert root["service"] == "frontend" and root["kind"] == "server"
    assert root["attributes"]["http.route"] == root["name"].split(" ", 1)[1]
    handling = [s for s in spans if s["service"] == "notifications" and s["kind"] == "consumer"]
    assert handling, "notifications' handling of the order's event"
    by_id = {span["span_id"]: span for span in spans}
    assert by_id[handling[0]["parent_id"]]["kind"] == "producer"  # the relay's publish
    systems = {s["attributes"].get("db.system") for s in spans if s["kind"] == "client"}
    assert {"postgresql", "redis"} <= systems, systems  # a query's span, a Valkey command's
    # Behind the edge every server span names the caller it proved.
    served = [s for s in spans if s["kind"] == "server" and s["service"] != "frontend"]
    assert served and all("mosaic.caller" in s["attributes"] for s in served)
    # The recent traces list it too.
    recent = httpx.get(f"{shop.dashboard}/api/traces?limit=500", timeout=10).json()
    assert trace_id in {t["trace_id"] for t in recent}

    # The same trace's log lines, through `mosaic logs --trace`, notifications' included.
    env = {**os.environ, "MOSAIC_HOME": str(shop.home)}
    done = mosaic("logs", "--json", "--trace", trace_id, env=env)
    assert done.returncode == 0, done.stderr
    logged_by = {json.loads(line)["service"] for line in done.stdout.splitlines()}
    assert logged_by >= wanted, logged_by


@pytest.mark.timeout(300)
def test_at_sampling_zero_nothing_is_exported_and_the_shop_works(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("unsampled") / "home"
    port, dashboard = free_port(), free_port()
    args = ("--dashboard-port", str(dashboard), "--mail-port", str(free_port()))
    with UpProcess(home, port, *args, extra_env={"OTEL_TRACES_SAMPLER_ARG": "0"}) as up:
        up.wait_ready(timeout=180)
        answer = checkout(f"http://127.0.0.1:{port}")
        assert answer.status_code == 303, answer.text
        shop = Shop(up, home, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dashboard}")
        # The log lines still carry a trace id (the unsampled trace's), and the order's
        # confirmation still reaches notifications.
        trace_id = trace_of_request(shop.home, answer.headers["x-request-id"])
        env = {**os.environ, "MOSAIC_HOME": str(home)}

        def notified() -> bool:
            done = mosaic("logs", "--json", "--trace", trace_id, "notifications", env=env)
            return done.returncode == 0 and bool(done.stdout.strip())

        wait_until(notified, 60, "notifications' lines of the unsampled checkout")
        # Every process exports within OTEL_BSP_SCHEDULE_DELAY (1 s); nothing came.
        assert httpx.get(f"{shop.dashboard}/api/traces?limit=500", timeout=10).json() == []
