"""What a store sends Postgres, statement by statement, for tests that count round trips.

SQLAlchemy's `before_cursor_execute` sees the statements it runs, but not the BEGIN,
COMMIT and ROLLBACK that asyncpg's transactions send on their own (each a round trip, and
most of a short statement's cost in Postgres): those are read from asyncpg's query logger
on every connection the pool opens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event

from chassis.db import Database


def sent_statements(database: Database) -> list[str]:
    """A list that fills, in order, with every statement the database's connections send
    from now on. Call it on an open database before its pool has opened a connection."""
    sent: list[str] = []

    def on_connect(connection: Any, _record: Any) -> None:
        connection.driver_connection.add_query_logger(lambda query: sent.append(query.query))

    def on_statement(*args: Any) -> None:
        sent.append(args[2])

    event.listen(database.engine.sync_engine, "connect", on_connect)
    event.listen(database.engine.sync_engine, "before_cursor_execute", on_statement)
    return sent


@asynccontextmanager
async def counted_database(url: str) -> AsyncIterator[tuple[Database, list[str]]]:
    """A database of one pooled connection, open, with `sent_statements` of it; closed after."""
    database = Database(url, pool_size=1)
    await database.open()
    try:
        yield database, sent_statements(database)
    finally:
        await database.close()
