"""The release phase: migrations run up and down cleanly, on a database of their own."""

from __future__ import annotations

from typing import Any

import asyncpg
from mosaic.backing import BackingServers


async def test_upgrade_downgrade_upgrade(backing: BackingServers, alembic: Any) -> None:
    url = backing.database_url("notifications_migrations")
    up = alembic(url, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert '"event":"Running upgrade  -> 0001' in up.stdout  # JSON log lines
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetchval(
            "SELECT array_agg(tablename ORDER BY tablename) FROM pg_tables"
            " WHERE schemaname = 'public'"
        )
        assert tables == ["alembic_version", "inbox", "sent_mail"]
        assert alembic(url, "downgrade", "base").returncode == 0
        left = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert left == 1  # alembic_version only
    finally:
        await connection.close()
    again = alembic(url, "upgrade", "head")
    assert again.returncode == 0, again.stderr
