"""Run the cart's migrations against DATABASE_URL, on asyncpg (the only driver we ship).

Follows Alembic's `async` template. Logs go through the chassis, one JSON line per event
when not on a terminal, like every other process of the service.
"""

import asyncio
import os
from importlib import metadata

from alembic import context
from chassis import DatabaseSettings, configure_logging, load_settings
from chassis.db import async_url
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

configure_logging(
    service="cart",
    version=metadata.version("cart"),
    log_format=os.environ.get("LOG_FORMAT", "auto"),
)


def database_url() -> str:
    return async_url(load_settings(DatabaseSettings).database_url)


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    context.configure(url=database_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run(connection: Connection) -> None:
    # One transaction for the whole upgrade: Postgres has transactional DDL, so a failed
    # release leaves the schema exactly as it was.
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        # Two release processes started at once (a rollout, a retry) take turns.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('cart:migrations'))"))
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
