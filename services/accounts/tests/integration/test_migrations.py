"""The release phase: migrations run up and down cleanly, on a database of their own."""

from __future__ import annotations

from typing import Any

import asyncpg
from mosaic.backing import BackingServers


async def test_upgrade_downgrade_upgrade(backing: BackingServers, alembic: Any) -> None:
    url = backing.database_url("accounts_migrations")
    up = alembic(url, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert '"event":"Running upgrade  -> 0001' in up.stdout  # JSON log lines
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetchval(
            "SELECT array_agg(tablename ORDER BY tablename) FROM pg_tables"
            " WHERE schemaname = 'public'"
        )
        assert tables == ["addresses", "alembic_version", "sessions", "users"]
        assert alembic(url, "downgrade", "base").returncode == 0
        left = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert left == 1  # alembic_version only
    finally:
        await connection.close()
    again = alembic(url, "upgrade", "head")
    assert again.returncode == 0, again.stderr


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
