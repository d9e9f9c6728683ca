"""The store's checks on what it reads back."""

from __future__ import annotations

import uuid

import pytest
from chassis import Database
from orders.store import OrderMissing, Store


async def test_an_order_that_must_exist_and_does_not_is_a_clear_error(database: Database) -> None:
    store = Store(database, lease_seconds=5)
    order_id = str(uuid.uuid4())
    with pytest.raises(OrderMissing, match=f"order {order_id} is missing from the database"):
        await store.existing(order_id)
    assert await store.order(order_id) is None  # where a missing order is an answer
