"""What a cart change costs Postgres, counted on the store's own engine: the round trips a
checkout makes to cart are its largest share of cart's CPU (docs/performance.md)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from cart.domain import Line, Owner
from cart.store import Store
from chassis import Database
from sqlalchemy import event


@pytest.fixture
async def counted(database_url: str) -> AsyncIterator[tuple[Store, list[str]]]:
    database = Database(database_url)
    await database.open()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield Store(database), statements
    finally:
        await database.close()


async def _filled(store: Store, owner: Owner, *lines: Line) -> str:
    """A new cart of the owner's holding `lines`: its id."""
    cart, created = await store.open(owner)
    assert created
    for line in lines:
        await store.add(owner, cart.id, line.product_id, line.quantity)
    return cart.id


async def test_opening_an_existing_cart_is_one_statement(
    counted: tuple[Store, list[str]],
) -> None:
    store, statements = counted
    owner = Owner("visitor", "v" * 22)
    cart_id = await _filled(store, owner, Line("wool-socks", 2))
    statements.clear()
    again, created = await store.open(owner)
    assert len(statements) == 1, statements
    assert not created
    assert again == await store.cart(owner, cart_id)
    assert again.lines[0].quantity == 2


async def test_a_change_locks_and_touches_the_cart_in_one_statement(
    counted: tuple[Store, list[str]], db: asyncpg.Connection
) -> None:
    """The lock is the touch: `updated_at` still moves with every change (the purge job
    keeps a cart by it), with one statement fewer per change."""
    store, statements = counted
    owner = Owner("user", "ada")
    cart, _ = await store.open(owner)
    await db.execute("UPDATE carts SET updated_at = now() - interval '40 days'")
    statements.clear()
    changed = await store.add(owner, cart.id, "wool-socks", 1)
    assert [(line.product_id, line.quantity) for line in changed.lines] == [("wool-socks", 1)]
    assert len(statements) == 4, statements  # lock+touch, lines, upsert, lines
    age = await db.fetchval("SELECT now() - updated_at FROM carts WHERE id = $1::uuid", cart.id)
    assert age.days == 0


async def test_an_orders_removal_is_one_statement_a_line(
    counted: tuple[Store, list[str]],
) -> None:
    """Each ordered line loses its units in one statement: gone at zero, else less."""
    store, statements = counted
    owner = Owner("visitor", "w" * 22)
    cart_id = await _filled(store, owner, Line("wool-socks", 3), Line("brass-compass", 1))
    statements.clear()
    ordered = (Line("wool-socks", 2), Line("brass-compass", 1))
    left = await store.remove_ordered(cart_id, str(uuid.uuid4()), ordered)
    assert left.lines == (Line("wool-socks", 1),)
    changes = [s for s in statements if s.startswith(("WITH", "DELETE", "UPDATE cart_lines"))]
    assert len(changes) == 1, statements  # one statement, executed once a line
