"""`Database.autocommit`: one statement, one transaction, on the same pool, against a real
Postgres; and the pooled connection transactional again for `engine` afterwards."""

from __future__ import annotations

from chassis.db import Database
from mosaic.backing import BackingServers
from sqlalchemy import text

XID = text("SELECT pg_current_xact_id()::text")  # assigns the transaction an id if it has none


async def test_each_statement_is_its_own_transaction(backing: BackingServers) -> None:
    database = Database(backing.database_url("autocommit"), pool_size=1)
    await database.open()
    try:
        async with database.autocommit.connect() as connection:
            first = await connection.scalar(XID)
            second = await connection.scalar(XID)
        assert first != second  # no BEGIN: each statement committed on its own
        async with database.engine.connect() as connection:
            first = await connection.scalar(XID)
            second = await connection.scalar(XID)
        assert first == second  # the pool's one connection is transactional again
    finally:
        await database.close()


async def test_engine_still_rolls_back_what_it_did_not_commit(backing: BackingServers) -> None:
    database = Database(backing.database_url("autocommit"), pool_size=1)
    await database.open()
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS kept (n int)"))
            await connection.execute(text("DELETE FROM kept"))
        async with database.autocommit.connect() as connection:
            await connection.execute(text("INSERT INTO kept VALUES (1)"))  # committed alone
        async with database.engine.connect() as connection:
            await connection.execute(text("INSERT INTO kept VALUES (2)"))  # never committed
        async with database.autocommit.connect() as connection:
            assert await connection.scalar(text("SELECT array_agg(n) FROM kept")) == [1]
    finally:
        await database.close()
