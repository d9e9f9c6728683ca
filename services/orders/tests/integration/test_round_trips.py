"""What a checkout's store calls cost Postgres: each is one statement and one round trip,
with no BEGIN, COMMIT or ROLLBACK around it (each of those is a round trip too, and most of
a short statement's cost in Postgres). Counted with `sent_statements`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
from chassis.testing.round_trips import counted_database
from orders import keys
from orders.domain import Address, Order, Owner, Step
from orders.events import OutboxEvent
from orders.ports import LeaseLost
from orders.store import NewOrder, Store


@pytest.fixture
async def counted(database_url: str) -> AsyncIterator[tuple[Store, list[str]]]:
    """A store on its own pool, and every statement its connections send, in order."""
    async with counted_database(database_url) as (database, sent):
        yield Store(database, lease_seconds=5), sent


def _new_order() -> NewOrder:
    owner = Owner("visitor", f"visitor-{uuid.uuid4()}")
    key = f"checkout-{uuid.uuid4()}"
    address = Address("Ada Lovelace", "Unter den Linden 1", "Berlin", "DE", postal_code="10117")
    draft = Order(str(uuid.uuid4()), owner, "ada@example.com", "USD", "standard", address)
    token = keys.new_token()
    return NewOrder(
        draft,
        keys.key_hash(owner, key),
        keys.fingerprint(key, b"{}"),
        keys.token_hash(token),
        keys.seal(token, key, draft.id),
    )


def _words(sent: list[str]) -> list[str]:
    return [statement.split(None, 1)[0].upper() for statement in sent]


async def test_a_checkouts_store_calls_are_one_statement_each(
    counted: tuple[Store, list[str]], db: asyncpg.Connection
) -> None:
    store, sent = counted
    new = _new_order()
    claim = await store.claim(new, holder="driver-1")
    assert claim.created
    order = replace(claim.order, step=Step.QUOTING)
    await store.save(order, "driver-1")
    assert await store.take_lease(order.id, "driver-1") == order
    await store.save(replace(order, step=Step.CANCELLED), "driver-1", OutboxEvent("X", 1, {}))
    assert await store.owned(order.owner, order.id) is not None
    assert await store.renew_lease(order.id, "driver-1")
    assert _words(sent) == ["INSERT", "UPDATE", "UPDATE", "WITH", "SELECT", "UPDATE"], sent
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE order_id = $1", order.id) == 1


async def test_a_fenced_save_writes_neither_the_order_nor_its_event(
    counted: tuple[Store, list[str]], db: asyncpg.Connection
) -> None:
    """The save and its event are one statement: a driver that lost the lease writes
    nothing, its event included."""
    store, _ = counted
    claim = await store.claim(_new_order(), holder="driver-1")
    await db.execute("UPDATE orders SET lease_holder = 'driver-2'")
    ending = replace(claim.order, step=Step.CANCELLED)
    with pytest.raises(LeaseLost):
        await store.save(ending, "driver-1", OutboxEvent("OrderCancelled", 1, {}))
    assert await db.fetchval("SELECT step FROM orders") == "pricing"
    assert await db.fetchval("SELECT count(*) FROM outbox") == 0
