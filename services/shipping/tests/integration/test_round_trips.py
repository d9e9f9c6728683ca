"""A new shipment is one round trip to Postgres: its key's claim and the shipment in one
statement, with no BEGIN and COMMIT around it; a repeated key reads what it stored.
Counted on asyncpg's connections themselves, where the transaction's own statements are
sent."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator

import pytest
from chassis.testing.round_trips import counted_database
from shipping.domain import Address, Item, Option, Shipment
from shipping.store import Claim, Store


@pytest.fixture
async def counted(database_url: str) -> AsyncIterator[tuple[Store, list[str]]]:
    """A store on its own pool, and every statement its connections send, in order."""
    async with counted_database(database_url) as (database, sent):
        yield Store(database), sent


def _shipment() -> Shipment:
    return Shipment(
        id=str(uuid.uuid4()),
        tracking_id="MOSABCDEFGHIJKL",
        status="created",
        reference=f"order-{uuid.uuid4()}",
        option=Option("standard", "Standard", 599, 3, 5),
        address=Address("Ada Lovelace", "12 St James's Square", None, "London", "SW1Y 4JH", "GB"),
        items=(Item("wool-socks", 2),),
        created_at=datetime.datetime.now(datetime.UTC),
    )


async def test_a_new_shipment_is_one_statement_and_a_repeat_reads_it(
    counted: tuple[Store, list[str]],
) -> None:
    store, sent = counted
    shipment = _shipment()
    claim = Claim("orders", f"key-{uuid.uuid4()}", "print")
    made = await store.create(claim, shipment, 201, b'{"id": "made"}')
    assert not made.replayed
    assert len(sent) == 1 and sent[0].startswith("WITH claimed"), sent
    assert await store.shipment(shipment.id) == shipment
    sent.clear()
    again = await store.create(claim, _shipment(), 201, b"{}")
    assert (again.shipment_id, again.body, again.replayed) == (shipment.id, made.body, True)
    assert [statement.split(None, 1)[0] for statement in sent] == ["WITH", "SELECT"], sent
