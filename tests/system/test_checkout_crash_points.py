"""The crash-point sweep: orders dies (SIGKILL, as a power cut) right after each saga step
in turn, and afterwards every order has ended in a state the other services agree with.

For every order, once the recovery and the shopper's retries are done:
- confirmed <=> exactly one successful charge (nothing refunded) and one active shipment;
- cancelled <=> no net charge and no active shipment;
- the shopper's cart is emptied only if one of their orders was confirmed, else kept.

One `mosaic up` for the whole sweep. The crashing orders is a process of the test's own,
started with the environment the runner gave `orders.web.1` (its database, its callees,
its certificate) plus `MOSAIC_TEST_CRASH_AFTER=<step>`: the runner passes no MOSAIC_*
variable on to services, and one process per crash point is seconds where a `mosaic up`
per point would be minutes. Its lease is short (LEASE_SECONDS), so what it leaves behind
is soon the recovery's. Each point is crashed twice: one order is left to the recovery
(`mosaic admin run orders recover`), the other is finished by the shopper retrying the
same checkout (same Idempotency-Key) at the runner's own orders, while the recovery runs.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from mosaic.ports import free_port
from mosaic.testing import Guest, UpProcess, process_environment, wait_until

# Normal mode only: it SIGKILLs the orders process alone; in-process, that would take every
# service down at once, which is another experiment.
pytestmark = pytest.mark.system

OK = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
LEASE_SECONDS = 16  # the crashing process's; its saga may take SAGA_SECONDS
SAGA_SECONDS = 15

# (the step after which orders dies, the card, how the recovery must end the order)
SWEEP = [
    ("pricing", OK, "cancelled"),  # the order claimed, nothing priced: cancelled
    ("quoting", OK, "cancelled"),  # priced, not quoted: nothing happened; cancelled
    ("charging", OK, "cancelled"),  # about to charge: no charge at payments; compensated
    ("shipping", OK, "confirmed"),  # charged: the recovery ships and confirms
    ("confirmed", OK, "confirmed"),  # confirmed: the recovery clears the cart
    ("cart_cleared", OK, "confirmed"),  # finished; nothing left to do
    ("compensating", DECLINED, "cancelled"),  # declined: the recovery finishes the undoing
    ("cancelled", DECLINED, "cancelled"),  # finished
]


@dataclass
class Shop:
    up: UpProcess
    home: Path
    products: list[str]
    orders_env: dict[str, str]  # the runner's orders.web.1 environment


@dataclass
class Crashed:
    point: str
    card: str
    guest: Guest
    body: dict[str, Any]
    key: str
    cart: dict[str, int]  # what the cart held at checkout
    order_ids: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("checkout-crash") / "home"
    with UpProcess(home, free_port()) as up:
        up.wait_ready(timeout=180)
        with up.client("catalog", "cart") as catalog:
            listed = catalog.get("/v1/products", params={"limit": 5})
        assert listed.status_code == 200, listed.text
        products = [p["id"] for p in listed.json()["items"]]
        env = process_environment(up.processes()["orders.web.1"]["pid"])
        yield Shop(up, home, products, env)


class CrashingOrders:
    """`python -m orders` of the test's own, set to die after `point`; its log in a file."""

    def __init__(self, shop: Shop, point: str, log: Path) -> None:
        self.port, ops = free_port(), free_port()
        env = {
            **shop.orders_env,
            "PORT": str(self.port),
            "OPS_PORT": str(ops),
            "MOSAIC_TEST_CRASH_AFTER": point,
            "LEASE_SECONDS": str(LEASE_SECONDS),
            "SAGA_SECONDS": str(SAGA_SECONDS),
            "MOSAIC_REPLICA": "crash",
        }
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "orders"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.process.poll() is None, self.output()
            try:
                return httpx.get(f"http://127.0.0.1:{ops}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 90, f"orders crashing after {point} is ready")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def placed(self) -> set[str]:
        """The ids of the orders it logged as placed."""
        ids = set()
        for line in self.output().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == "order placed":
                ids.add(str(entry["order_id"]))
        return ids

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


def crash_at(shop: Shop, point: str, card: str, tmp_path: Path) -> Crashed:
    """One order placed at an orders that dies after `point`; what it left behind."""
    orders = CrashingOrders(shop, point, tmp_path / f"orders-{point}-{uuid.uuid4().hex[:6]}.log")
    try:
        with (
            shop.up.client("cart", "frontend") as cart,
            shop.up.client("orders", "frontend") as own,
        ):
            own.base_url = httpx.URL(f"https://127.0.0.1:{orders.port}")
            guest = Guest(cart, own)
            items = {shop.products[0]: 2, shop.products[1]: 1}
            guest.fill_cart(items)
            body = Guest.checkout(f"crash-{point}-{uuid.uuid4().hex[:8]}@example.com", card)
            key = f"crash-{uuid.uuid4()}"
            with pytest.raises(httpx.TransportError):  # it died before answering
                answer = guest.place(body, key)
                pytest.fail(f"orders answered {answer.status_code} instead of dying: {answer.text}")
        assert orders.process.wait(30) == -signal.SIGKILL, orders.output()
        placed = orders.placed()
        assert len(placed) == 1, orders.output()
        return Crashed(point, card, Guest(cart, own, guest.visitor), body, key, items, placed)
    finally:
        orders.stop()


@pytest.mark.timeout(480)  # 16 orders processes started and crashed, then the recovery
def test_after_a_crash_after_any_step_every_order_ends_consistent_everywhere(
    shop: Shop, tmp_path: Path
) -> None:
    recovered, retried = [], []
    for point, card, _ in SWEEP:
        recovered.append(crash_at(shop, point, card, tmp_path))
        retried.append(crash_at(shop, point, card, tmp_path))
    last_crash = time.monotonic()

    with (
        shop.up.client("cart", "frontend") as cart,
        shop.up.client("orders", "frontend") as orders,
        shop.up.client("orders") as admin,
    ):
        for crashed in recovered + retried:
            crashed.guest = Guest(cart, orders, crashed.guest.visitor)

        # The runner's orders, the recovery and the retries may take the orders over once
        # the dead driver's lease has run out.
        time.sleep(max(0.0, LEASE_SECONDS + 1 - (time.monotonic() - last_crash)))
        with ThreadPoolExecutor(len(retried) + 1) as pool:
            recovery = pool.submit(shop.up.run_job, "orders", "recover")
            answers = list(pool.map(retry, retried))
            recovery.result()
        for crashed, answer in zip(retried, answers, strict=True):
            crashed.order_ids.add(answer)

        every = [(c, order_id) for c in recovered + retried for order_id in c.order_ids]

        def all_ended() -> bool:
            if any(admin_view(admin, o)["order"]["status"] == "processing" for _, o in every):
                shop.up.run_job("orders", "recover")
                return False
            return True

        wait_until(all_ended, 120, "every order confirmed or cancelled")

        outcomes = {}
        for crashed, how in [(c, "recovered") for c in recovered] + [
            (c, "retried") for c in retried
        ]:
            statuses = [check_order(shop, admin, order_id) for order_id in crashed.order_ids]
            lines = crashed.guest.cart_lines()
            if "confirmed" in statuses:
                assert lines == {}, f"{crashed.point}: a confirmed order clears the cart"
            else:
                assert lines == crashed.cart, f"{crashed.point}: no order, the cart is kept"
            outcomes[crashed.point, how] = statuses

    for point, _, expected in SWEEP:
        assert outcomes[point, "recovered"] == [expected], f"recovered after {point}"


def retry(crashed: Crashed) -> str:
    """The shopper sends the same checkout again: the order's id it answers with."""
    answer = crashed.guest.place(crashed.body, crashed.key)
    assert answer.status_code in (201, 402), answer.text
    body = answer.json()
    order_id = body["id"] if answer.status_code == 201 else body["order_id"]
    return str(order_id)


def admin_view(admin: httpx.Client, order_id: str) -> dict[str, Any]:
    found = admin.get(f"/v1/admin/orders/{order_id}")
    assert found.status_code == 200, found.text
    view: dict[str, Any] = found.json()
    return view


def check_order(shop: Shop, admin: httpx.Client, order_id: str) -> str:
    """The order's end agrees with payments and shipping; its status."""
    order = admin_view(admin, order_id)["order"]
    reference = {"reference": f"order:{order_id}"}
    with shop.up.client("payments") as payments, shop.up.client("shipping") as shipping:
        charges = payments.get("/v1/charges", params=reference).json()["charges"]
        shipments = shipping.get("/v1/shipments", params=reference).json()["items"]
    taken = [c for c in charges if c["status"] == "succeeded" and c["net"]["amount"] > 0]
    active = [s for s in shipments if s["status"] != "cancelled"]
    seen = f"order {order_id} {order['status']}: charges {charges}, shipments {shipments}"
    if order["status"] == "confirmed":
        assert len(taken) == 1, seen
        assert taken[0]["net"] == taken[0]["amount"] == order["total"], seen
        assert len(active) == 1, seen
        assert active[0]["tracking_id"] == order["tracking_id"], seen
    else:
        assert order["status"] == "cancelled", seen
        assert sum(c["net"]["amount"] for c in charges) == 0, seen
        assert active == [], seen
    return str(order["status"])
