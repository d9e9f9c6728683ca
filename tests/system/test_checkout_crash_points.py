"""The crash-point sweep: orders dies (SIGKILL, as a power cut) right after each saga step
in turn, and afterwards every order has ended in a state the other services agree with.

For every order, once the recovery and the shopper's retries are done:
- confirmed <=> exactly one successful charge (nothing refunded) and one active shipment;
- cancelled <=> no net charge and no active shipment;
- the shopper's cart is emptied only if one of their orders was confirmed, else kept;
- it ended as the sweep expects for its crash point (the recovery and a retry may differ:
  only the retry has the card again).

One `mosaic up` for the whole sweep. The crashing orders is a process of the test's own,
started with the environment the runner gave `orders.web.1` (its database, its callees,
its certificate) plus `MOSAIC_TEST_CRASH_AFTER=<point>`: the runner passes no MOSAIC_*
variable on to services, and one process per crash point is seconds where a `mosaic up`
per point would be minutes. Its lease is short (LEASE_SECONDS), so what it leaves behind
is soon the recovery's. Each point is crashed twice: one order is left to the recovery
(`mosaic admin run orders recover`), the other is finished by the shopper retrying the
same checkout (same Idempotency-Key) at the runner's own orders: sent at once, it waits on
the dead driver's lease and takes the order over when it expires. The retry's answer must
name the crashed order (a retry that made a second order fails the sweep).

The points are the saga's steps, two where a callee acted but its answer was lost
(`charged`: payments took the money, orders died before saving it; `shipped`: likewise
with the shipment), and one where the order is cancelled after a real charge: shipping
refuses the shipment (the order's postal code is made one its country does not have
while the driver is dead), so the charge must be refunded (net zero at payments).
"""

import asyncio
import signal
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import Guest, ServiceProcess, UpProcess, process_environment, wait_until

# Normal mode only: it SIGKILLs the orders process alone; in-process, that would take every
# service down at once, which is another experiment.
pytestmark = pytest.mark.system

OK = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
LEASE_SECONDS = 16  # the crashing process's; its saga may take SAGA_SECONDS
SAGA_SECONDS = 15


@dataclass(frozen=True)
class Point:
    """Where orders dies, with which card, and how each half of the sweep must end."""

    after: str  # MOSAIC_TEST_CRASH_AFTER
    card: str
    recovered: str  # the order's end once the recovery (no card) has driven it
    retried: int  # the status of the retry's answer (201 confirmed, else the cancellation's)
    refused: bool = False  # shipping refuses the order once it is charged

    @property
    def name(self) -> str:
        return f"{self.after}+refused" if self.refused else self.after

    @property
    def retried_status(self) -> str:
        return "confirmed" if self.retried == 201 else "cancelled"


SWEEP = [
    # claimed, nothing priced: the recovery cancels; the retry brings the card and goes on
    Point("pricing", OK, "cancelled", 201),
    Point("quoting", OK, "cancelled", 201),  # priced, not quoted: likewise
    # about to charge: no charge at payments, the recovery compensates; the retry charges
    Point("charging", OK, "cancelled", 201),
    # charged, the answer lost: the charge is found at payments (the same key, one charge)
    Point("charged", OK, "confirmed", 201),
    Point("shipping", OK, "confirmed", 201),  # charged: the recovery ships and confirms
    Point("shipped", OK, "confirmed", 201),  # shipped, the answer lost: the same shipment
    Point("confirmed", OK, "confirmed", 201),  # confirmed: the recovery clears the cart
    Point("cart_cleared", OK, "confirmed", 201),  # finished; nothing left to do
    Point("compensating", DECLINED, "cancelled", 402),  # declined: the undoing finished
    Point("cancelled", DECLINED, "cancelled", 402),  # finished
    # charged, then shipping refuses (destination-not-served): cancelled and refunded
    Point("shipping", OK, "cancelled", 422, refused=True),
]


@dataclass
class Shop:
    up: UpProcess
    home: Path
    products: list[str]
    orders_env: dict[str, str]  # the runner's orders.web.1 environment


@dataclass
class Crashed:
    point: Point
    guest: Guest
    body: dict[str, Any]
    key: str
    cart: dict[str, int]  # what the cart held at checkout
    order_id: str  # the order the crashed process placed
    retry: Future[httpx.Response] | None = None  # the shopper's retry, for the retried half


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


def crashing_orders(shop: Shop, point: str, log: Path) -> ServiceProcess:
    """`python -m orders` of the test's own, set to die after `point`; its log in a file."""
    env = {
        **shop.orders_env,
        "MOSAIC_TEST_CRASH_AFTER": point,
        "LEASE_SECONDS": str(LEASE_SECONDS),
        "SAGA_SECONDS": str(SAGA_SECONDS),
        "MOSAIC_REPLICA": "crash",
    }
    return ServiceProcess("orders", env, log)


def crash_at(shop: Shop, point: Point, tmp_path: Path) -> Crashed:
    """One order placed at an orders that dies after `point`; what it left behind."""
    log = tmp_path / f"orders-{point.after}-{uuid.uuid4().hex[:6]}.log"
    orders = crashing_orders(shop, point.after, log)
    try:
        with (
            shop.up.client("cart", "frontend") as cart,
            shop.up.client("orders", "frontend") as own,
        ):
            own.base_url = httpx.URL(f"https://127.0.0.1:{orders.port}")
            guest = Guest(cart, own)
            items = {shop.products[0]: 2, shop.products[1]: 1}
            guest.fill_cart(items)
            email = f"crash-{point.after}-{uuid.uuid4().hex[:8]}@example.com"
            body = Guest.checkout(email, point.card)
            key = f"crash-{uuid.uuid4()}"
            with pytest.raises(httpx.TransportError):  # it died before answering
                answer = guest.place(body, key)
                pytest.fail(f"orders answered {answer.status_code} instead of dying: {answer.text}")
        assert orders.process.wait(30) == -signal.SIGKILL, orders.output()
        placed = {str(entry["order_id"]) for entry in orders.logged("order placed")}
        assert len(placed) == 1, orders.output()
        [order_id] = placed
        acted = callee_records(shop, order_id)
        if point.after == "charged":  # payments charged: the answer is what was lost
            assert [c["status"] for c in acted["charges"]] == ["succeeded"], acted
        if point.after == "shipped":
            assert [s["status"] for s in acted["shipments"]] == ["created"], acted
        if point.refused:  # while the dead driver's lease still holds the order
            make_undeliverable(shop, order_id)
        return Crashed(point, Guest(cart, own, guest.visitor), body, key, items, order_id)
    finally:
        orders.stop()


def make_undeliverable(shop: Shop, order_id: str) -> None:
    """Shipping will refuse the order's shipment (its postal code is not one of Germany's),
    as when a destination stops being served between the quote and the shipment."""

    async def change() -> str:
        connection = await asyncpg.connect(shop.orders_env["DATABASE_URL"])
        try:
            done: str = await connection.execute(
                "UPDATE orders SET address = jsonb_set(address, '{postal_code}', '\"NOWHERE\"')"
                " WHERE id = $1",
                order_id,
            )
            return done
        finally:
            await connection.close()

    assert asyncio.run(change()) == "UPDATE 1"


@pytest.mark.timeout(900)  # 22 orders processes started and crashed, then the recovery
def test_after_a_crash_after_any_step_every_order_ends_consistent_everywhere(
    shop: Shop, tmp_path: Path
) -> None:
    recovered: list[Crashed] = []
    retried: list[Crashed] = []
    with (
        shop.up.client("cart", "frontend") as cart,
        shop.up.client("orders", "frontend", timeout=60) as orders,
        shop.up.client("orders") as admin,
        ThreadPoolExecutor(len(SWEEP)) as retries,
    ):
        for point in SWEEP:
            recovered.append(crash_at(shop, point, tmp_path))
            crashed = crash_at(shop, point, tmp_path)
            # The shopper retries at once, at the runner's orders: it waits on the dead
            # driver's lease and takes the order over when that expires.
            crashed.guest = Guest(cart, orders, crashed.guest.visitor)
            crashed.retry = retries.submit(crashed.guest.place, crashed.body, crashed.key)
            retried.append(crashed)
        for crashed in recovered:
            crashed.guest = Guest(cart, orders, crashed.guest.visitor)

        answers = {}
        for crashed in retried:
            assert crashed.retry is not None
            answer = crashed.retry.result(timeout=120)
            answers[crashed.point.name] = answer.status_code
            # (Should the runner's scheduled recovery, every 30 s, take the order in the
            # 0.2 s between the lease's end and the retry's next look, the retry finds it
            # ended: the runner's lines about the order, shown on failure, would say so.)
            assert answer.headers.get("location") == f"/v1/orders/{crashed.order_id}", (
                f"{crashed.point.name}: the retry must answer the crashed order "
                f"{crashed.order_id}, not make another: {answer.status_code} {answer.text}\n"
                + runner_lines(shop, crashed.order_id)
            )

        def all_ended() -> bool:
            crashed = recovered + retried
            if any(
                admin_view(admin, c.order_id)["order"]["status"] == "processing" for c in crashed
            ):
                shop.up.run_job("orders", "recover")
                return False
            return True

        wait_until(all_ended, 180, "every order confirmed or cancelled")

        outcomes = {}
        for how, half in (("recovered", recovered), ("retried", retried)):
            for crashed in half:
                name = crashed.point.name
                status = check_order(shop, admin, crashed.order_id, crashed.point.refused)
                lines = crashed.guest.cart_lines()
                if status == "confirmed":
                    assert lines == {}, f"{name} ({how}): a confirmed order clears the cart"
                else:
                    assert lines == crashed.cart, f"{name} ({how}): no order, the cart is kept"
                outcomes[name, how] = status

    expected = {(p.name, "recovered"): p.recovered for p in SWEEP}
    expected |= {(p.name, "retried"): p.retried_status for p in SWEEP}
    assert outcomes == expected
    assert answers == {p.name: p.retried for p in SWEEP}, "the retries' answers"


def runner_lines(shop: Shop, order_id: str) -> str:
    """What `mosaic up` printed about the order (its own orders and the recovery jobs)."""
    return "\n".join(line for line in shop.up.output.splitlines() if order_id in line)


def admin_view(admin: httpx.Client, order_id: str) -> dict[str, Any]:
    found = admin.get(f"/v1/admin/orders/{order_id}")
    assert found.status_code == 200, found.text
    view: dict[str, Any] = found.json()
    return view


def callee_records(shop: Shop, order_id: str) -> dict[str, list[dict[str, Any]]]:
    """The order's charges at payments and shipments at shipping, read as the operator."""
    reference = {"reference": f"order:{order_id}"}
    with shop.up.client("payments") as payments, shop.up.client("shipping") as shipping:
        charges = payments.get("/v1/charges", params=reference)
        shipments = shipping.get("/v1/shipments", params=reference)
    assert charges.status_code == shipments.status_code == 200, (charges.text, shipments.text)
    return {"charges": charges.json()["charges"], "shipments": shipments.json()["items"]}


def check_order(shop: Shop, admin: httpx.Client, order_id: str, refunded: bool = False) -> str:
    """The order's end agrees with payments and shipping; its status. `refunded`: it was
    charged for real, so its cancellation must have refunded that charge in full."""
    order = admin_view(admin, order_id)["order"]
    records = callee_records(shop, order_id)
    charges, shipments = records["charges"], records["shipments"]
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
    if refunded:  # one real charge, and a refund of all of it in payments' ledger
        succeeded = [c for c in charges if c["status"] == "succeeded"]
        assert len(succeeded) == 1, seen
        [charge] = succeeded
        assert charge["amount"] == order["total"] and charge["amount"]["amount"] > 0, seen
        assert charge["refunded"] == charge["amount"], seen
        assert charge["net"]["amount"] == 0 and len(charge["refunds"]) == 1, seen
    return str(order["status"])
