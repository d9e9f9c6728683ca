"""The late charge on real Postgres: a live checkout stalls with its charge in flight past
its lease, the recovery cancels the order (payment-unconfirmed), then the charge lands.
The shopper is not told "confirmed", and the recovery refunds the charge and settles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from chassis.testing import ServiceKeys
from orders.jobs import recover

from services.orders.tests.stand_ins import StandIns

from .driving import Shopper, assert_problem, held_at_charge, job_settings, orders_client, place


@pytest.fixture
async def patient_client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    """An orders whose charge call waits long enough for the test to run a recovery."""
    async with orders_client(
        database_url,
        stand_ins,
        keys,
        SAGA_SECONDS=50,
        LEASE_SECONDS=60,
        PAYMENTS_TIMEOUT_SECONDS=45,
        REQUEST_BUDGET_MS=55_000,
    ) as http:
        yield http


def as_admin(keys: ServiceKeys) -> dict[str, str]:
    return keys.headers("admin", "orders")


async def test_a_late_charge_is_refunded_and_the_stalled_checkout_is_not_confirmed(
    patient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    shopper = visitor()
    checkout = await held_at_charge(patient_client, stand_ins, shopper)
    # The checkout stalls past its lease with the charge in flight; the recovery takes over.
    await db.execute("UPDATE orders SET lease_until = now() - interval '1 second'")
    settings = job_settings(database_url, stand_ins, keys)
    first = await recover(settings, limit=10)
    assert (first.taken_over, first.compensated, first.left) == (1, 1, 1)
    row = await db.fetchrow("SELECT id, step, settle_until FROM orders")
    order_id = str(row["id"])
    assert row["step"] == "cancelled" and row["settle_until"] is not None

    stand_ins.payments.charge_gate.set()  # ...and then the charge lands at payments
    answer = await asyncio.wait_for(checkout, 90)
    body = assert_problem(answer, 402, "payment-unconfirmed")
    assert body["order"]["status"] == "cancelled"
    assert stand_ins.payments.net(order_id) > 0 and stand_ins.shipping.shipments == {}

    # The next pass refunds it (key order-<id>-refund-<charge>) and keeps watching.
    await db.execute("UPDATE orders SET lease_until = now() - interval '1 second'")
    second = await recover(settings, limit=10)
    assert (second.late_refunds, second.settled, second.left) == (1, 0, 1)
    assert stand_ins.payments.net(order_id) == 0
    [(key, charge_id)] = stand_ins.payments.refunds.items()
    assert key == f"order-{order_id}-refund-{charge_id}"

    # Once the window has passed, one more look, and the order is settled.
    await db.execute(
        "UPDATE orders SET lease_until = now() - interval '1 second',"
        " settle_until = now() - interval '1 second'"
    )
    third = await recover(settings, limit=10)
    assert (third.late_refunds, third.settled, third.left) == (0, 1, 0)
    assert await db.fetchval("SELECT settle_until FROM orders") is None
    assert (await recover(settings, limit=10)).found == 0
    assert [r["type"] for r in await db.fetch("SELECT type FROM outbox")] == ["OrderCancelled"]

    inspected = await patient_client.get(f"/v1/admin/orders/{order_id}", headers=as_admin(keys))
    assert inspected.status_code == 200, inspected.text
    view = inspected.json()
    assert (view["step"], view["finished"], view["settle_until"]) == ("cancelled", True, None)
    assert view["failure"]["code"] == "payment-unconfirmed"
    assert view["lease"]["holder"].startswith("recover-")


async def test_the_operator_reads_any_orders_saga_and_only_the_operator(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    keys: ServiceKeys,
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    order = (await place(client, shopper)).json()
    path = f"/v1/admin/orders/{order['id']}"
    view: dict[str, Any] = (await client.get(path, headers=as_admin(keys))).json()
    assert view["order"] == {k: v for k, v in order.items() if k != "status_url_token"}
    assert (view["step"], view["finished"], view["cart_cleared"]) == ("confirmed", True, True)
    assert view["charge_id"] and view["shipment_id"] and view["tracking_id"]
    assert view["lease"]["expired"] is False and view["failure"] is None
    [event] = view["events"]
    assert (event["type"], event["version"], event["published_at"]) == ("OrderConfirmed", 1, None)
    text = str(view)
    assert shopper.owner_key not in text and order["status_url_token"] not in text
    # The shop's pages (the client signs as frontend) and the owner do not reach it.
    assert_problem(await client.get(path, headers=shopper.headers), 403, "caller-not-allowed")
    missing = await client.get(
        "/v1/admin/orders/00000000-0000-4000-8000-000000000000", headers=as_admin(keys)
    )
    assert_problem(missing, 404, "order-not-found")
