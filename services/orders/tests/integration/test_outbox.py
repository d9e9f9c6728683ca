"""The outbox: written in the state change's transaction, relayed in order, marked published."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from chassis import Database, metrics
from orders.domain import Step
from orders.events import ENVELOPES, STREAM, OutboxEvent
from orders.outbox import Relay
from orders.store import Store

from services.orders.tests.stand_ins import StandIns

from .driving import Shopper, place


async def _confirmed(
    client: httpx.AsyncClient, stand_ins: StandIns, shopper: Shopper
) -> dict[str, Any]:
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    response = await place(client, shopper)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_state_change_whose_event_fails_to_write_leaves_neither(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
    db: asyncpg.Connection,
) -> None:
    order_id = (await _confirmed(client, stand_ins, visitor()))["id"]
    existing = await db.fetchval("SELECT event_id FROM outbox")
    store = Store(database, lease_seconds=10)
    order = await store.order(order_id)
    assert order is not None
    await db.execute("UPDATE orders SET lease_holder = 'me'")
    # The same event id again: the outbox insert fails, so the whole transaction does.
    event = OutboxEvent("OrderCancelled", 1, {}, id=str(existing))
    with pytest.raises(Exception, match="duplicate key"):
        await store.save(replace(order, step=Step.CANCELLED), "me", event)
    assert await db.fetchval("SELECT step FROM orders") == "confirmed"
    assert await db.fetchval("SELECT count(*) FROM outbox") == 1


async def test_the_events_written_validate_against_their_schemas(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
) -> None:
    confirmed = await _confirmed(client, stand_ins, visitor())
    declined = visitor()
    stand_ins.cart.fill(declined, {"wool-socks": 1})
    await place(
        client,
        declined,
        card={"number": "4000000000000002", "exp_month": 1, "exp_year": 2031, "cvc": "111"},
    )
    rows = await db.fetch("SELECT type, version, payload FROM outbox ORDER BY seq")
    assert [r["type"] for r in rows] == ["OrderConfirmed", "OrderCancelled"]
    for row in rows:
        payload = orjson.loads(row["payload"])
        ENVELOPES[(row["type"], row["version"])].model_validate(payload)
    data = orjson.loads(rows[0]["payload"])["data"]
    assert data["status_url"] == f"/orders/status/{confirmed['status_url_token']}"
    assert data["total"] == confirmed["total"]


class FakeBroker:
    def __init__(self, fail_after: int | None = None) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []
        self.fail_after = fail_after

    async def __call__(
        self, stream: str, envelope: dict[str, Any], traceparent: str | None = None
    ) -> None:
        if self.fail_after is not None and len(self.entries) >= self.fail_after:
            raise ConnectionError("broker away")
        self.entries.append((stream, envelope))


async def test_the_relay_publishes_in_order_and_marks_rows_published(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
    db: asyncpg.Connection,
) -> None:
    for _ in range(3):
        await _confirmed(client, stand_ins, visitor())
    written = [
        str(r["event_id"]) for r in await db.fetch("SELECT event_id FROM outbox ORDER BY seq")
    ]
    broker = FakeBroker(fail_after=2)
    relay = Relay(database, broker, batch=10)
    with pytest.raises(ConnectionError):
        await relay.relay_once()
    # What the broker took is marked; the rest waits for the next round.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1
    broker.fail_after = None
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    assert [envelope["id"] for _, envelope in broker.entries] == written
    assert {stream for stream, _ in broker.entries} == {STREAM}


async def test_two_relays_publish_each_event_once(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
) -> None:
    for _ in range(4):
        await _confirmed(client, stand_ins, visitor())
    broker = FakeBroker()
    relays = [Relay(database, broker, batch=2) for _ in range(2)]
    await asyncio.gather(*(relay.relay_once() for relay in relays * 2))
    assert len(broker.entries) == 4
    assert len({envelope["id"] for _, envelope in broker.entries}) == 4


async def test_the_backlog_and_the_age_of_its_oldest_row_are_measured(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
    db: asyncpg.Connection,
) -> None:
    """What a scrape of the relay's /metrics reads (`OutboxSql.backlog`): rows not yet
    published nor set aside, and how long the oldest has waited."""
    for _ in range(2):
        await _confirmed(client, stand_ins, visitor())
    await db.execute("UPDATE outbox SET created_at = now() - interval '90 seconds'")
    relay = Relay(database, FakeBroker(fail_after=None), batch=10)
    measure = relay._measure_backlog("orders-test")

    def gauge(name: str) -> float | None:
        return metrics.REGISTRY.get_sample_value(name, {"service": "orders-test"})

    pending = await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    await measure()
    assert gauge("mosaic_outbox_pending_events") == pending >= 2
    assert 90 <= (gauge("mosaic_outbox_oldest_pending_age_seconds") or 0) < 120
    while await relay.relay_once():
        pass
    await measure()
    assert gauge("mosaic_outbox_pending_events") == 0
    assert gauge("mosaic_outbox_oldest_pending_age_seconds") == 0


async def test_the_shoppers_given_name_goes_with_the_order_into_its_confirmation(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    user: Callable[..., Shopper],
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
) -> None:
    """Sent by the frontend for a signed-in shopper, kept with the order, and carried by
    OrderConfirmed v1 for the mail to greet by; a guest's order carries none."""
    ada = user()
    stand_ins.cart.fill(ada, {"wool-socks": 1})
    placed = await place(client, ada, given_name="  Ada ")
    assert placed.status_code == 201, placed.text
    guest = visitor()
    stand_ins.cart.fill(guest, {"wool-socks": 1})
    guests = await place(client, guest)
    assert guests.status_code == 201, guests.text
    for order_id, name in ((placed.json()["id"], "Ada"), (guests.json()["id"], None)):
        kept = "SELECT given_name FROM orders WHERE id = $1"
        assert await db.fetchval(kept, uuid.UUID(order_id)) == name
        [payload] = await db.fetch(
            "SELECT payload FROM outbox WHERE type = 'OrderConfirmed'"
            " AND payload->'data'->>'order_id' = $1",
            order_id,
        )
        assert orjson.loads(payload["payload"])["data"]["given_name"] == name


@pytest.mark.parametrize("given_name", ["", "   ", "x" * 81, "two\nlines", 7])
async def test_a_malformed_given_name_is_refused(
    client: httpx.AsyncClient, stand_ins: StandIns, user: Callable[..., Shopper], given_name: Any
) -> None:
    ada = user()
    stand_ins.cart.fill(ada, {"wool-socks": 1})
    refused = await place(client, ada, given_name=given_name)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("invalid-request")
