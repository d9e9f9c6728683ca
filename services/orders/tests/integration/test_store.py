"""The store's checks on what it reads back, and what it answers with."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from chassis import Database
from orders import keys
from orders.domain import Address, Order, Owner
from orders.store import NewOrder, OrderMissing, Store


async def test_an_order_that_must_exist_and_does_not_is_a_clear_error(database: Database) -> None:
    store = Store(database, lease_seconds=5)
    order_id = str(uuid.uuid4())
    with pytest.raises(OrderMissing, match=f"order {order_id} is missing from the database"):
        await store.existing(order_id)
    assert await store.order(order_id) is None  # where a missing order is an answer


async def test_a_claim_answers_the_order_as_stored(database: Database) -> None:
    """The created order comes from the INSERT's RETURNING, not from a second read: it must
    be the order as the database holds it (placed_at set, the address as stored), and a
    second claim of the key finds that same order."""
    store = Store(database, lease_seconds=5)
    owner = Owner("visitor", "visitor-claim")
    key = f"checkout-{uuid.uuid4()}"
    address = Address("Ada Lovelace", "Unter den Linden 1", "Berlin", "DE", postal_code="10117")
    draft = Order(str(uuid.uuid4()), owner, "ada@example.com", "EUR", "standard", address)
    token = keys.new_token()
    new = NewOrder(
        draft,
        keys.key_hash(owner, key),
        keys.fingerprint(key, b"{}"),
        keys.token_hash(token),
        keys.seal(token, key, draft.id),
    )
    claim = await store.claim(new, holder="driver-1")
    assert claim.created
    assert claim.order.placed_at is not None
    assert claim.order == await store.existing(draft.id)
    assert claim.order == replace(draft, placed_at=claim.order.placed_at)
    again = await store.claim(new, holder="driver-2")
    assert not again.created
    assert again.order == claim.order
