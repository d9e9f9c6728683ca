"""A callee whose answer changed shape: a clear error, never a KeyError 500 nor an order
left half-way. (The adapters read answers through `orders.replies`.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from chassis.testing import ServiceKeys
from orders.jobs import recover

from services.orders.tests.stand_ins import StandIns

from .driving import Shopper, assert_problem, job_settings, place

OPTION = {"id": "standard", "name": "Standard", "price": {"amount": 500, "currency": "USD"}}

# Each a success answer whose shape changed: a field renamed, retyped or dropped.
CHANGED: dict[str, tuple[tuple[str, str], Any, str]] = {
    "cart": (("GET", "/v1/carts/current"), {"id": "c1", "items": []}, "lines"),
    "catalog": (
        ("GET", "/v1/products/wool-socks"),
        {"id": "wool-socks", "name": "Wool socks", "price": "12.00 USD"},
        "price",
    ),
    "currency": (("POST", "/v1/convert"), {"items": [{"amount": 1080}]}, "items.0.converted"),
    "shipping": (("POST", "/v1/quotes"), {"options": [OPTION]}, "options.0.days"),
}


@pytest.mark.parametrize("callee", sorted(CHANGED))
async def test_a_changed_answer_cancels_the_checkout_with_nothing_charged(
    callee: str,
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    capsys: pytest.CaptureFixture[str],
) -> None:
    route, body, wrong = CHANGED[callee]
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    stand_ins.changed[route] = (200, body)
    response = await place(impatient_client, shopper)
    problem = assert_problem(response, 503, "shop-unavailable")
    assert f"({callee} is unavailable)" in problem["detail"]
    assert problem["order"]["status"] == "cancelled"
    assert stand_ins.payments.charges == {} and stand_ins.shipping.shipments == {}
    # Nothing half-way: the one order is cancelled, its key released for a retry.
    rows = await db.fetch("SELECT step, settle_until, key_hash FROM orders")
    assert [(r["step"], r["settle_until"], r["key_hash"]) for r in rows] == [
        ("cancelled", None, None)
    ]
    logged = capsys.readouterr().out
    assert "malformed answer" in logged and wrong in logged, logged


async def test_a_changed_limit_answer_is_payments_unavailable(
    impatient_client: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    # A fresh orders (the session's keeps the limits it read for five minutes).
    stand_ins.changed[("GET", "/v1/limits/EUR")] = (200, {"currency": "EUR", "max": 99_999_999})
    response = await impatient_client.get("/v1/limits/EUR")
    assert_problem(response, 503, "payments-unavailable")


async def test_a_changed_charge_answer_is_left_to_the_recovery_which_settles_it(
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whether payments charged is unknown (its answer lacks `net`): the order waits at
    charging for the recovery, which asks payments by reference and cancels it (settling:
    watched for a late charge, as any order cancelled without a charge seen)."""
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    stand_ins.changed[("POST", "/v1/charges")] = (201, {"id": "ch-1", "status": "succeeded"})
    response = await place(impatient_client, shopper)
    assert response.status_code == 202, response.text
    assert await db.fetchval("SELECT step FROM orders") == "charging"
    logged = capsys.readouterr().out
    assert "malformed answer" in logged and "net" in logged, logged
    await db.execute("UPDATE orders SET lease_until = now() - interval '1 second'")
    summary = await recover(job_settings(database_url, stand_ins, keys), limit=10)
    assert (summary.compensated, summary.forward) == (1, 0)
    row = await db.fetchrow("SELECT step, failure, settle_until FROM orders")
    assert row["step"] == "cancelled" and "payment-unconfirmed" in row["failure"]
    assert row["settle_until"] is not None and stand_ins.payments.charges == {}
