"""A cart read, and opening a cart, are one round trip each: the statement alone, with no
BEGIN and ROLLBACK (or COMMIT) around it. Counted on asyncpg's connections themselves,
where the transaction's own statements are sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cart.domain import Line, Owner
from cart.store import Store
from chassis.testing.round_trips import counted_database


@pytest.fixture
async def counted(database_url: str) -> AsyncIterator[tuple[Store, list[str]]]:
    """A store on its own pool, and every statement its connections send, in order."""
    async with counted_database(database_url) as (database, sent):
        yield Store(database), sent


async def test_reads_and_opening_are_one_round_trip_each(
    counted: tuple[Store, list[str]],
) -> None:
    store, sent = counted
    owner = Owner("visitor", "r" * 22)
    cart, created = await store.open(owner)  # none yet: the read, then the INSERT
    assert created
    await store.add(owner, cart.id, "wool-socks", 2)
    sent.clear()
    assert (await store.open(owner))[0].lines == (Line("wool-socks", 2),)
    assert await store.find(owner) == await store.cart(owner, cart.id)
    await store.check_owned(owner, cart.id)
    words = [statement.split(None, 1)[0].upper() for statement in sent]
    assert words == ["SELECT"] * 4, sent
