"""The release phase: migrations run up and down cleanly; the schema refuses what the
service never writes, and the ledger refuses edits."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from chassis.testing import assert_migrations_round_trip
from mosaic.backing import BackingServers

from .conftest import SERVICE_DIR


async def test_upgrade_downgrade_upgrade(backing: BackingServers) -> None:
    url = backing.database_url("payments_migrations")
    await assert_migrations_round_trip(SERVICE_DIR, url, ["charges", "idempotency_keys", "refunds"])


async def _a_charge(connection: asyncpg.Connection) -> Any:
    return await connection.fetchval(
        "INSERT INTO charges (amount, currency, card_brand, card_last4, reference)"
        " VALUES (100, 'EUR', 'visa', '4242', 'order:1') RETURNING id"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE charges SET amount = 1",
        "UPDATE charges SET failure_code = 'card_declined'",
        "DELETE FROM charges",
        "UPDATE refunds SET amount = 1",
        "DELETE FROM refunds",
    ],
)
async def test_the_ledger_is_append_only(database_url: str, statement: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        charge = await _a_charge(connection)
        await connection.execute(
            "INSERT INTO refunds (charge_id, amount, currency, reason) VALUES ($1, 50, 'EUR', 'x')",
            charge,
        )
        with pytest.raises(asyncpg.RaiseError, match="the ledger is append-only"):
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO charges (amount, currency, card_brand, card_last4, reference)"
        " VALUES (0, 'EUR', 'visa', '4242', 'r')",
        "INSERT INTO charges (amount, currency, card_brand, card_last4, reference)"
        " VALUES (1, 'eur', 'visa', '4242', 'r')",
        "INSERT INTO charges (amount, currency, card_brand, card_last4, reference)"
        " VALUES (1, 'EUR', 'visa', '4242424242424242', 'r')",
        "INSERT INTO charges (amount, currency, card_brand, card_last4, reference, failure_code)"
        " VALUES (1, 'EUR', 'visa', '4242', 'r', 'maybe')",
        "INSERT INTO idempotency_keys (caller, key, fingerprint) VALUES ('orders', 'a b', "
        "repeat('a', 64))",
        "INSERT INTO idempotency_keys (caller, key, fingerprint) VALUES ('orders', 'k', 'x')",
    ],
)
async def test_the_schema_refuses_what_the_service_never_writes(
    database_url: str, statement: str
) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(statement)
    finally:
        await connection.close()
