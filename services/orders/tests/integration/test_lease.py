"""The saga's lease on real Postgres: a heartbeat while its driver works, let go by the
recovery between passes, and the guest link's token never stored in plain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from chassis.testing import ServiceKeys
from orders.jobs import recover

from services.orders.tests.stand_ins import StandIns

from .driving import Shopper, held_at_charge, job_settings, orders_client, stuck_at_charging

LEASE = 1.0  # seconds: renewed every third of it while the checkout runs


@pytest.fixture
async def short_lease_client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    async with orders_client(database_url, stand_ins, keys, LEASE_SECONDS=LEASE) as http:
        yield http


async def test_a_live_checkout_keeps_its_short_lease_while_a_call_takes_longer(
    short_lease_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    checkout = await held_at_charge(short_lease_client, stand_ins, visitor())
    # The charge takes three leases: the heartbeat keeps the order with its live driver,
    # so neither the recovery nor anyone else takes it meanwhile.
    loop = asyncio.get_running_loop()
    until = loop.time() + 3 * LEASE
    while loop.time() < until:
        assert await db.fetchval("SELECT lease_until > now() FROM orders"), "lease expired"
        await asyncio.sleep(0.1)
    summary = await recover(job_settings(database_url, stand_ins, keys), limit=10)
    assert summary.found == 0 and summary.taken_over == 0
    # Meanwhile the guest link's token is nowhere in plain: the row has only its hash.
    assert await db.fetchval("SELECT status_token FROM orders") is None
    stand_ins.payments.charge_gate.set()
    answer = await asyncio.wait_for(checkout, 60)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "confirmed"
    row = await db.fetchrow("SELECT * FROM orders")
    assert row is not None and body["status_url_token"] not in repr(dict(row))


async def test_consecutive_recovery_passes_both_look_at_a_settling_order(
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    order = await stuck_at_charging(impatient_client, stand_ins, visitor(), db)
    settings = job_settings(database_url, stand_ins, keys)
    first = await recover(settings, limit=10)
    assert (first.taken_over, first.compensated, first.left) == (1, 1, 1)  # now settling
    # A charge lands late; the very next pass (the runner starts one every 30 s, sooner
    # than a lease could run out) must see the order and refund it, not skip it.
    stand_ins.payments.charge_landed(order, "ch-late")
    second = await recover(settings, limit=10)
    assert (second.found, second.taken_over, second.late_refunds) == (1, 1, 1)
    third = await recover(settings, limit=10)
    assert (third.found, third.taken_over, third.left) == (1, 1, 1)  # still watched
    assert stand_ins.payments.net(order["id"]) == 0


async def test_an_order_the_recovery_confirms_is_announced_with_a_working_guest_link(
    impatient_client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    shopper = visitor()
    order = await stuck_at_charging(impatient_client, stand_ins, shopper, db)
    stand_ins.payments.charge_landed(order, "ch-lost")
    summary = await recover(job_settings(database_url, stand_ins, keys), limit=10)
    assert summary.forward == 1
    # The recovery cannot unseal the shopper's token (it has no key): it gives the order
    # a second link, stored hashed like the first; both lead to the order.
    payload = await db.fetchval("SELECT payload FROM outbox WHERE type = 'OrderConfirmed'")
    status_url = orjson.loads(payload)["data"]["status_url"]
    assert status_url.startswith("/orders/status/")
    for token in (status_url.rsplit("/", 1)[1], order["status_url_token"]):
        found = await impatient_client.get(f"/v1/orders/by-token/{token}")
        assert found.status_code == 200, found.text
        assert found.json()["status"] == "confirmed"
    row = await db.fetchrow("SELECT * FROM orders")
    assert row is not None and row["status_token"] is None
    assert status_url.rsplit("/", 1)[1] not in repr(dict(row))


async def test_the_guest_token_is_not_stored_in_plain_while_the_saga_runs(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
) -> None:
    checkout = await held_at_charge(client, stand_ins, visitor())
    running = await db.fetchrow("SELECT * FROM orders")  # mid-saga: the charge in flight
    stand_ins.payments.charge_gate.set()
    answer = await asyncio.wait_for(checkout, 60)
    assert answer.status_code == 201, answer.text
    token = answer.json()["status_url_token"]
    assert running is not None and running["step"] == "charging"
    assert running["status_token"] is None
    assert token not in repr(dict(running))  # only its hash and its sealed form
    found = await client.get(f"/v1/orders/by-token/{token}")
    assert found.status_code == 200 and found.json()["id"] == answer.json()["id"]
