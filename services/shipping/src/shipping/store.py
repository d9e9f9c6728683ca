"""Postgres: shipments, and the idempotency keys that created them.

Creating a shipment claims its key with an INSERT into `idempotency_keys` in the same
statement that writes the shipment. The primary key (caller, key) is the lock: a
concurrent request with the same key blocks on the index until the first commits, then
finds the key taken and answers from the stored response. Nothing is checked in memory,
so it holds across replicas.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from chassis import Database
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    Table,
    Text,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from shipping.domain import (
    CURRENCY,
    NAMES,
    Address,
    IdempotencyKeyReused,
    Item,
    Option,
    Shipment,
    ShipmentNotFound,
)

# The tables as migrations/versions define them, for typed queries (JSONB, UUID).
metadata = MetaData()
shipments = Table(
    "shipments",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tracking_id", Text),
    Column("reference", Text),
    Column("option", Text),
    Column("status", Text),
    Column("price_amount", Integer),
    Column("price_currency", Text),
    Column("days_min", Integer),
    Column("days_max", Integer),
    Column("address", JSONB),
    Column("items", JSONB),
    Column("created_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
)
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text),
    Column("shipment_id", UUID(as_uuid=False)),
    Column("status_code", Integer),
    Column("response", LargeBinary),
)


# A key's claim and its shipment in one statement; no row when the key was taken before.
_CREATE = text(
    "WITH claimed AS (INSERT INTO idempotency_keys"
    " (caller, key, fingerprint, shipment_id, status_code, response)"
    " VALUES (:caller, :key, :fingerprint, :id, :status_code, :response)"
    " ON CONFLICT DO NOTHING RETURNING shipment_id)"
    " INSERT INTO shipments (id, tracking_id, reference, option, status, price_amount,"
    " price_currency, days_min, days_max, address, items, created_at, cancelled_at)"
    " SELECT shipment_id, :tracking_id, :reference, :option, :status, :price_amount,"
    " :price_currency, :days_min, :days_max, :address, :items, :created_at, :cancelled_at"
    " FROM claimed RETURNING id"
).bindparams(
    bindparam("address", type_=JSONB),
    bindparam("items", type_=JSONB),
    bindparam("response", type_=LargeBinary),
)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    shipment_id: str
    status_code: int
    body: bytes
    replayed: bool


@dataclass(frozen=True, slots=True)
class Claim:
    """Who asks, with which key, for which request (its fingerprint)."""

    caller: str
    key: str
    fingerprint: str


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self, claim: Claim, shipment: Shipment, status_code: int, body: bytes
    ) -> StoredResponse:
        """Write the shipment and its response under the claim, or, if the key is taken,
        the response stored for it; IdempotencyKeyReused if it was for another request.

        The claim and the shipment are one statement (the shipment inserted from the
        claimed row: both or neither), so a new shipment costs one round trip, not four
        (BEGIN, two INSERTs, COMMIT); only a repeated key reads what it stored."""
        values = {
            **_row(shipment),
            "caller": claim.caller,
            "key": claim.key,
            "fingerprint": claim.fingerprint,
            "status_code": status_code,
            "response": body,
        }
        async with self.database.autocommit.connect() as connection:
            made = await connection.scalar(_CREATE, values)
            if made is not None:
                return StoredResponse(shipment.id, status_code, body, replayed=False)
            stored = (
                await connection.execute(
                    select(
                        idempotency_keys.c.fingerprint,
                        idempotency_keys.c.shipment_id,
                        idempotency_keys.c.status_code,
                        idempotency_keys.c.response,
                    ).where(
                        idempotency_keys.c.caller == claim.caller,
                        idempotency_keys.c.key == claim.key,
                    )
                )
            ).one()
        if stored.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused
        return StoredResponse(
            str(stored.shipment_id), stored.status_code, bytes(stored.response), replayed=True
        )

    async def shipment(self, shipment_id: str) -> Shipment:
        async with self.database.engine.connect() as connection:
            return await _read(connection, shipment_id)

    async def by_reference(self, reference: str) -> list[Shipment]:
        async with self.database.engine.connect() as connection:
            rows = await connection.execute(
                select(shipments)
                .where(shipments.c.reference == reference)
                .order_by(shipments.c.created_at, shipments.c.id)
            )
            return [_shipment(row) for row in rows]

    async def cancel(self, shipment_id: str) -> Shipment:
        """The shipment, cancelled now unless it already was: repeating changes nothing."""
        async with self.database.engine.begin() as connection:
            row = (
                await connection.execute(
                    update(shipments)
                    .where(shipments.c.id == shipment_id, shipments.c.status == "created")
                    .values(status="cancelled", cancelled_at=func.now())
                    .returning(*shipments.c)
                )
            ).one_or_none()
            return _shipment(row) if row is not None else await _read(connection, shipment_id)


async def _read(connection: AsyncConnection, shipment_id: str) -> Shipment:
    row = (
        await connection.execute(select(shipments).where(shipments.c.id == shipment_id))
    ).one_or_none()
    if row is None:
        raise ShipmentNotFound
    return _shipment(row)


def _row(shipment: Shipment) -> dict[str, Any]:
    address = shipment.address
    return {
        "id": shipment.id,
        "tracking_id": shipment.tracking_id,
        "reference": shipment.reference,
        "option": shipment.option.id,
        "status": shipment.status,
        "price_amount": shipment.option.price,
        "price_currency": CURRENCY,
        "days_min": shipment.option.days_min,
        "days_max": shipment.option.days_max,
        "address": {
            "name": address.name,
            "line1": address.line1,
            "line2": address.line2,
            "city": address.city,
            "postal_code": address.postal_code,
            "country": address.country,
        },
        "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in shipment.items],
        "created_at": shipment.created_at,
        "cancelled_at": shipment.cancelled_at,
    }


def _shipment(row: Row[Any]) -> Shipment:
    created_at: datetime.datetime = row.created_at
    return Shipment(
        id=str(row.id),
        tracking_id=row.tracking_id,
        status=row.status,
        reference=row.reference,
        option=Option(row.option, NAMES[row.option], row.price_amount, row.days_min, row.days_max),
        address=Address(**row.address),
        items=tuple(Item(item["product_id"], item["quantity"]) for item in row.items),
        created_at=created_at,
        cancelled_at=row.cancelled_at,
    )
