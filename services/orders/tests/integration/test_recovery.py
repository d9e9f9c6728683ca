"""The recovery job on real Postgres: stuck sagas driven to their end, once, concurrently."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable

import asyncpg
import httpx
from chassis.testing import ServiceKeys
from orders.jobs import recover

from services.orders.tests.stand_ins import StandIns

from .driving import SERVICE_DIR, Shopper, job_settings, run_recover, stuck_at_charging


async def test_recovery_goes_forward_from_a_charge_payments_confirms(
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    shopper = visitor()
    order = await stuck_at_charging(impatient_client, stand_ins, shopper, db)
    # The charge did go through (its answer was lost): payments knows it by reference.
    stand_ins.payments.charge_landed(order, "ch-lost")
    summary = await recover(job_settings(database_url, stand_ins, keys), limit=10)
    assert (summary.found, summary.taken_over, summary.forward) == (1, 1, 1)
    assert (summary.cart_cleared, summary.compensated, summary.left) == (1, 0, 0)
    assert await db.fetchval("SELECT step FROM orders") == "confirmed"
    assert stand_ins.shipping.active(order["id"]) == 1
    assert order["id"] in stand_ins.cart.removals
    again = await impatient_client.get(f"/v1/orders/{order['id']}", headers=shopper.headers)
    assert again.json()["status"] == "confirmed"


async def test_recovery_compensates_when_no_charge_went_through(
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    order = await stuck_at_charging(impatient_client, stand_ins, visitor(), db)
    summary = await recover(job_settings(database_url, stand_ins, keys), limit=10)
    assert (summary.taken_over, summary.compensated, summary.forward) == (1, 1, 0)
    row = await db.fetchrow("SELECT step, failure, settle_until FROM orders")
    assert row["step"] == "cancelled" and "payment-unconfirmed" in row["failure"]
    assert row["settle_until"] is not None  # no charge seen: watched for a late one
    assert stand_ins.payments.net(order["id"]) == 0 and stand_ins.shipping.shipments == {}
    assert stand_ins.cart.removals == {}
    assert await db.fetchval("SELECT type FROM outbox") == "OrderCancelled"


async def test_concurrent_recoveries_drive_each_order_once(
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    orders = [await stuck_at_charging(impatient_client, stand_ins, visitor(), db) for _ in range(4)]
    for n, order in enumerate(orders):
        stand_ins.payments.charge_landed(order, f"ch-{n}")
    settings = job_settings(database_url, stand_ins, keys)
    passes = await asyncio.gather(*(recover(settings, limit=10) for _ in range(3)))
    assert sum(p.taken_over for p in passes) == 4
    assert await db.fetchval("SELECT count(*) FROM orders WHERE step = 'confirmed'") == 4
    assert await db.fetchval("SELECT count(*) FROM outbox") == 4
    assert len(stand_ins.shipping.shipments) == 4


async def test_recovery_leaves_a_live_checkouts_saga_alone(
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    await stuck_at_charging(impatient_client, stand_ins, visitor(), db)
    await db.execute("UPDATE orders SET lease_until = now() + interval '1 minute'")
    summary = await recover(job_settings(database_url, stand_ins, keys), limit=10)
    assert summary.taken_over == 0
    assert await db.fetchval("SELECT step FROM orders") == "charging"


def test_the_job_explains_itself() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orders.jobs", "recover", "--help"],
        cwd=SERVICE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for said in ("--limit", "forward", "compensated", "settle_until", "concurrently"):
        assert said in result.stdout


def test_a_pass_ends_with_a_one_line_summary(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> None:
    result = run_recover(database_url, stand_ins, keys)
    assert result.returncode == 0, result.stderr
    summary = "taken over: 0, forward: 0, compensated: 0, cart cleared: 0, late charges refunded: 0"
    assert [line for line in result.stdout.splitlines() if summary in line], result.stdout
