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
            "INSERT INTO users (id, email, given_name, password_hash)"
            " VALUES (gen_random_uuid(), 'Ada@Example.com', 'Ada', '$argon2id$x')",
            "INSERT INTO users (id, email, given_name, password_hash)"
            " VALUES (gen_random_uuid(), 'ada@example.com', 'Ada', 'plaintext')",
            "INSERT INTO users (id, email, family_name, password_hash)"
            " VALUES (gen_random_uuid(), 'ada@example.com', 'Lovelace', '$argon2id$x')",
        ):
            try:
                await connection.execute(statement)
            except (asyncpg.CheckViolationError, asyncpg.NotNullViolationError):
                continue
            raise AssertionError(f"accepted: {statement}")
    finally:
        await connection.close()


async def test_the_contract_waits_for_the_backfill_then_drops_the_display_name(
    backing: BackingServers, alembic: Any
) -> None:
    """0006 refuses while an account has only a display name (release 2's backfill has not
    reached it), changing nothing; once it has a given name, 0006 drops the column, the
    trigger, and makes the given name required."""
    url = backing.database_url("accounts_contract")
    assert alembic(url, "upgrade", "0005").returncode == 0
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO users (id, email, display_name, password_hash) VALUES"
            " (gen_random_uuid(), 'ada@example.com', 'Ada Lovelace', '$argon2id$x')"
        )
        refused = alembic(url, "upgrade", "head")
        assert refused.returncode != 0
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith("accounts: the release's migration refused to run: 1 account(s)")
        assert "Run release 2's backfill to the end first" in last
        assert "Traceback" not in refused.stderr
        assert await connection.fetchval("SELECT version_num FROM alembic_version") == "0005"
        assert await connection.fetchval("SELECT display_name FROM users") == "Ada Lovelace"

        # What the backfill does to the row.
        await connection.execute("UPDATE users SET given_name = 'Ada', family_name = 'Lovelace'")
        done = alembic(url, "upgrade", "head")
        assert done.returncode == 0, done.stderr
        columns = await connection.fetch(
            "SELECT column_name, is_nullable FROM information_schema.columns"
            " WHERE table_name = 'users' AND column_name LIKE '%name'"
        )
        assert {c["column_name"]: c["is_nullable"] for c in columns} == {
            "given_name": "NO",
            "family_name": "YES",
        }
        triggers = "SELECT count(*) FROM pg_trigger WHERE tgname = 'users_display_name_follows'"
        assert await connection.fetchval(triggers) == 0
        name = await connection.fetchrow("SELECT given_name, family_name FROM users")
        assert tuple(name) == ("Ada", "Lovelace")

        # Rolled back to release 2's schema: the trigger and the (empty) display name return.
        assert alembic(url, "downgrade", "0005").returncode == 0
        assert await connection.fetchval(triggers) == 1
        assert await connection.fetchval("SELECT display_name FROM users") is None
    finally:
        await connection.close()


def test_a_missing_database_url_stops_the_release_with_one_line(alembic: Any) -> None:
    result = alembic("", "upgrade", "head")
    assert result.returncode == 78
    assert "DATABASE_URL" in result.stderr.strip().splitlines()[-1]
