"""The release phase: migrations run up and down cleanly, on a database of their own."""

from __future__ import annotations

import uuid

import asyncpg
from chassis.testing import assert_migrations_round_trip, run_alembic
from mosaic.backing import BackingServers

from .driving import SERVICE_DIR


async def test_upgrade_downgrade_upgrade(backing: BackingServers) -> None:
    url = backing.database_url("orders_migrations")
    await assert_migrations_round_trip(
        SERVICE_DIR, url, ["orders", "outbox", "job_runs", "job_run_totals"]
    )


async def test_0003_empties_the_plain_guest_tokens_left_by_older_code(
    backing: BackingServers,
) -> None:
    url = backing.database_url("orders_tokens_migration")
    assert run_alembic(SERVICE_DIR, url, "upgrade", "0002").returncode == 0
    connection = await asyncpg.connect(url)
    try:
        # An order placed by 0002's code, its saga still running: the token in plain.
        await connection.execute(
            "INSERT INTO orders (id, owner_kind, owner_id, fingerprint, email, currency,"
            " shipping_option, address, step, status_token_hash, status_token_sealed,"
            " status_token) VALUES ($1, 'visitor', 'v', '\\x00', 'a@example.com', 'EUR',"
            " 'standard', '{}', 'charging', '\\x01', '\\x02', 'plain-token')",
            str(uuid.uuid4()),
        )
        assert run_alembic(SERVICE_DIR, url, "upgrade", "head").returncode == 0
        assert await connection.fetchval("SELECT status_token FROM orders") is None
        assert await connection.fetchval("SELECT step FROM orders") == "charging"
    finally:
        await connection.execute(
            "DROP TABLE IF EXISTS outbox, orders, job_runs, job_run_totals, alembic_version"
        )
        await connection.close()
