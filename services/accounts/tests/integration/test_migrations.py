"""The release phase: migrations run up and down cleanly, on a database of their own."""

from __future__ import annotations

from typing import Any

import asyncpg
from chassis.testing import assert_migrations_round_trip
from mosaic.backing import BackingServers

from .conftest import SERVICE_DIR


async def test_upgrade_downgrade_upgrade(backing: BackingServers) -> None:
    url = backing.database_url("accounts_migrations")
    await assert_migrations_round_trip(
        SERVICE_DIR, url, ["addresses", "outbox", "sessions", "users", "verifications"]
    )


async def test_the_schema_refuses_what_the_service_never_writes(urls: Any) -> None:
    connection = await asyncpg.connect(urls.database)
    try:
        for statement in (
            "INSERT INTO users (id, email, display_name, password_hash)"
            " VALUES (gen_random_uuid(), 'Ada@Example.com', 'Ada', '$argon2id$x')",
            "INSERT INTO users (id, email, display_name, password_hash)"
            " VALUES (gen_random_uuid(), 'ada@example.com', 'Ada', 'plaintext')",
        ):
            try:
                await connection.execute(statement)
            except asyncpg.CheckViolationError:
                continue
            raise AssertionError(f"accepted: {statement}")
    finally:
        await connection.close()


def test_a_missing_database_url_stops_the_release_with_one_line(alembic: Any) -> None:
    result = alembic("", "upgrade", "head")
    assert result.returncode == 78
    assert "DATABASE_URL" in result.stderr.strip().splitlines()[-1]
