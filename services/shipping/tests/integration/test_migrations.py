"""The release phase: migrations run up and down cleanly, on a database of their own; the
schema refuses what the service never writes."""

from __future__ import annotations

import json
import uuid

import asyncpg
from chassis.testing import assert_migrations_round_trip
from mosaic.backing import BackingServers

from .conftest import SERVICE_DIR


async def test_upgrade_downgrade_upgrade(backing: BackingServers) -> None:
    url = backing.database_url("shipping_migrations")
    await assert_migrations_round_trip(SERVICE_DIR, url, ["idempotency_keys", "shipments"])


INSERT = (
    "INSERT INTO shipments (id, tracking_id, reference, option, status, price_amount,"
    " price_currency, days_min, days_max, address, items, cancelled_at)"
    " VALUES ($1, $2, 'order:1', $3, $4, $5, 'USD', $6, 3, '{}', '[]', $7)"
)


async def test_the_schema_refuses_what_the_service_never_writes(database_url: str) -> None:
    good = ["MOSABCDEFGHIJKL", "standard", "created", 599, 1, None]
    bad = [
        ["MOS123", "standard", "created", 599, 1, None],  # not a tracking id
        ["MOSABCDEFGHIJK1", "standard", "created", 599, 1, None],  # 1 is not base32
        ["MOSABCDEFGHIJKM", "overnight", "created", 599, 1, None],
        ["MOSABCDEFGHIJKN", "standard", "cancelled", 599, 1, None],  # cancelled when?
        ["MOSABCDEFGHIJKO", "standard", "lost", 599, 1, None],
        ["MOSABCDEFGHIJKP", "standard", "created", 0, 1, None],
        ["MOSABCDEFGHIJKQ", "standard", "created", 599, 4, None],  # min after max
    ]
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(INSERT, uuid.uuid4(), *good)
        for values in bad:
            try:
                await connection.execute(INSERT, uuid.uuid4(), *values)
            except asyncpg.CheckViolationError:
                continue
            raise AssertionError(f"accepted: {values}")
        try:  # a key claimed for a shipment that is never written cannot commit
            await connection.execute(
                "INSERT INTO idempotency_keys (caller, key, fingerprint, shipment_id,"
                " status_code, response) VALUES ('orders', 'k', 'f', $1, 201, $2)",
                uuid.uuid4(),
                json.dumps({}).encode(),
            )
        except asyncpg.ForeignKeyViolationError:
            pass
        else:
            raise AssertionError("accepted a key for no shipment")
    finally:
        await connection.execute("TRUNCATE shipments, idempotency_keys")
        await connection.close()
