"""A killed orders process lets go of its checkouts within seconds (issue 11, item 13).

orders SIGKILLed mid-checkout used to hold the order for its whole 30 s lease: the
shopper's re-post with the same Idempotency-Key waited on the dead holder, and answered
202 "processing" after 25 s. Now the lease is short (5 s) and renewed while its holder
works (a heartbeat), so the re-post takes the order over seconds after the death and
completes it, while the fencing still refuses a stale holder's writes (tested in
services/orders/tests/integration/test_lease.py).

The dying orders is a process of the test's own, started with the environment the runner
gave `orders.web.1` (its database, callees and certificate; LEASE_SECONDS left at its
default) plus `MOSAIC_TEST_CRASH_AFTER=charging`: it dies right after it persisted the
charging step, before it called payments. The re-post goes to the runner's own orders.
"""

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import Guest, ServiceProcess, UpProcess, process_environment

pytestmark = pytest.mark.system

TAKEOVER_SECONDS = 15  # the 5 s lease, the charge and shipment, and a slow shared machine


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    home = tmp_path_factory.mktemp("takeover") / "home"
    with UpProcess(home, free_port()) as up:
        up.wait_ready(timeout=180)
        yield up


def dying_orders(up: UpProcess, log: Path) -> ServiceProcess:
    """`python -m orders` set to die after the charging step, once ready."""
    env = {
        **process_environment(up.processes()["orders.web.1"]["pid"]),
        "MOSAIC_TEST_CRASH_AFTER": "charging",
        "MOSAIC_REPLICA": "dying",
    }
    env.pop("LEASE_SECONDS", None)  # the service's default is what is proven
    return ServiceProcess("orders", env, log)


@pytest.mark.timeout(300)
def test_a_repost_completes_within_seconds_after_orders_is_killed_mid_checkout(
    shop: UpProcess, tmp_path: Path
) -> None:
    with shop.client("catalog", "cart") as catalog:
        products = [
            p["id"] for p in catalog.get("/v1/products", params={"limit": 2}).json()["items"]
        ]
    log = tmp_path / "dying-orders.log"
    process = dying_orders(shop, log)
    try:
        with (
            shop.client("cart", "frontend") as cart,
            shop.client("orders", "frontend") as dying,
        ):
            dying.base_url = httpx.URL(f"https://127.0.0.1:{process.port}")
            guest = Guest(cart, dying)
            guest.fill_cart({products[0]: 1})
            body = Guest.checkout(f"takeover-{uuid.uuid4().hex[:8]}@example.com")
            key = f"takeover-{uuid.uuid4()}"
            with pytest.raises(httpx.TransportError):  # it died before answering
                guest.place(body, key)
            assert process.process.wait(30) == -signal.SIGKILL, process.output()
            died = time.monotonic()

            with shop.client("orders", "frontend", timeout=60) as orders:
                answer = Guest(cart, orders, guest.visitor).place(body, key)
            took = time.monotonic() - died
    finally:
        process.stop()
    assert answer.status_code == 201, f"after {took:.1f} s: {answer.status_code} {answer.text}"
    assert answer.json()["status"] == "confirmed"
    assert took < TAKEOVER_SECONDS, f"the re-post took {took:.1f} s"
