"""`Database.read()`: reads without a transaction, on the same pool, against a real Postgres."""

from __future__ import annotations

from chassis.db import Database
from mosaic.backing import BackingServers
from sqlalchemy import text

XID = text("SELECT pg_current_xact_id()::text")  # assigns the transaction an id if it has none


async def test_a_read_session_runs_each_statement_on_its_own(backing: BackingServers) -> None:
    database = Database(backing.database_url("reads"), pool_size=1)
    await database.open()
    try:
        async with database.read() as session:
            first = (await session.execute(XID)).scalar_one()
            second = (await session.execute(XID)).scalar_one()
        assert first != second  # no BEGIN: each statement was its own transaction
        async with database.session() as session:
            first = (await session.execute(XID)).scalar_one()
            second = (await session.execute(XID)).scalar_one()
        assert first == second  # the pool's one connection is transactional again
    finally:
        await database.close()


async def test_a_session_after_a_read_still_rolls_back_what_it_did_not_commit(
    backing: BackingServers,
) -> None:
    database = Database(backing.database_url("reads"), pool_size=1)
    await database.open()
    try:
        async with database.session() as session, session.begin():
            await session.execute(text("CREATE TABLE IF NOT EXISTS kept (n int)"))
            await session.execute(text("DELETE FROM kept"))
        async with database.read() as session:
            assert (await session.execute(text("SELECT count(*) FROM kept"))).scalar_one() == 0
        async with database.session() as session:
            await session.execute(text("INSERT INTO kept VALUES (1)"))  # never committed
        async with database.read() as session:
            assert (await session.execute(text("SELECT count(*) FROM kept"))).scalar_one() == 0
    finally:
        await database.close()
