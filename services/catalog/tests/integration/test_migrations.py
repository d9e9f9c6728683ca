"""The release phase: migrations run up and down cleanly, on a database of their own."""

from __future__ import annotations

from typing import Any

import asyncpg
from mosaic.backing import BackingServers


async def test_upgrade_downgrade_upgrade(backing: BackingServers, alembic: Any) -> None:
    migrate = alembic
    url = backing.database_url("catalog_migrations")
    up = migrate(url, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert '"event":"Running upgrade 0001 -> 0002' in up.stdout  # JSON log lines

    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM products") == 30
        await connection.execute(
            "INSERT INTO products (id, category, name, description, price_amount,"
            " price_currency) VALUES ('added-later', 'kitchen', 'Spoon', 'A spoon.', 100, 'USD')"
        )
        down = migrate(url, "downgrade", "0001")
        assert down.returncode == 0, down.stderr
        # The merchant's own product, and the category it needs, outlive the seed.
        assert await connection.fetchval("SELECT array_agg(id) FROM products") == ["added-later"]
        assert await connection.fetchval("SELECT array_agg(slug) FROM categories") == ["kitchen"]
        await connection.execute("DELETE FROM products")
        assert migrate(url, "downgrade", "base").returncode == 0
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert tables == 1  # alembic_version only
    finally:
        await connection.close()
    again = migrate(url, "upgrade", "head")
    assert again.returncode == 0, again.stderr


def test_a_missing_database_url_stops_the_release_with_one_line(alembic: Any) -> None:
    result = alembic("", "upgrade", "head")
    assert result.returncode == 78
    assert "DATABASE_URL" in result.stderr.strip().splitlines()[-1]
