"""The release phase: migrations run up and down cleanly, on a database of their own."""

from __future__ import annotations

import asyncpg
from chassis.testing import assert_migrations_round_trip
from mosaic.backing import BackingServers

from .conftest import SERVICE_DIR


async def test_upgrade_downgrade_upgrade(backing: BackingServers) -> None:
    url = backing.database_url("cart_migrations")
    await assert_migrations_round_trip(
        SERVICE_DIR, url, ["cart_lines", "cart_orders", "carts", "job_run_totals", "job_runs"]
    )


async def test_the_schema_refuses_what_the_service_never_writes(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        cart = await connection.fetchval(
            "INSERT INTO carts (id, visitor_id) VALUES (gen_random_uuid(), $1) RETURNING id",
            "v" * 22,
        )
        for statement, args in (
            ("INSERT INTO carts (id) VALUES (gen_random_uuid())", ()),
            (
                "INSERT INTO carts (id, visitor_id, user_id) VALUES (gen_random_uuid(), $1, 'u')",
                ("w" * 22,),
            ),
            ("INSERT INTO carts (id, visitor_id) VALUES (gen_random_uuid(), 'short')", ()),
            (
                "INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES ($1, 'a', 11)",
                (cart,),
            ),
            ("INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES ($1, 'a', 0)", (cart,)),
            (
                "INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES ($1, 'A B', 1)",
                (cart,),
            ),
        ):
            try:
                await connection.execute(statement, *args)
            except asyncpg.CheckViolationError:
                continue
            raise AssertionError(f"accepted: {statement}")
    finally:
        await connection.execute("TRUNCATE carts CASCADE")
        await connection.close()
