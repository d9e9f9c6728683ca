"""The release phase: a service's Alembic migrations, run the same way by every service.

A service's `migrations/env.py` is two lines:

    from chassis.migrations import run_migrations
    run_migrations("catalog")

It reads DATABASE_URL (one clear line and exit 78 when it is missing or bad), logs through
the chassis, runs the whole upgrade in one transaction (Postgres has transactional DDL, so
a failed release leaves the schema exactly as it was), and takes an advisory lock so two
release processes started at once (a rollout, a retry) take turns. A migration that must
not run on the data as it is (an expand/contract step whose backfill has not finished)
raises `MigrationRefused`: the release stops with its one line, saying what to do first.
"""

from __future__ import annotations

import asyncio
import os
from importlib import metadata

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from chassis.db import async_url
from chassis.logs import configure_logging
from chassis.settings import DatabaseSettings, load_settings


class MigrationRefused(Exception):
    """A migration that will not run on the data as it is; the message says what to do
    first. Nothing is changed: the upgrade is one transaction."""


def run_migrations(service: str) -> None:
    """Run from a service's Alembic `env.py`: offline (`--sql`) or against the database."""
    configure_logging(
        service=service,
        version=metadata.version(service),
        log_format=os.environ.get("LOG_FORMAT", "auto"),
    )
    url = async_url(load_settings(DatabaseSettings).database_url)
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        try:
            asyncio.run(_online(url, service))
        except MigrationRefused as refused:
            message = f"{service}: the release's migration refused to run: {refused}"
            raise SystemExit(message) from None


async def _online(url: str, service: str) -> None:
    def upgrade(connection: Connection) -> None:
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            lock = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
            connection.execute(lock, {"key": f"{service}:migrations"})
            context.run_migrations()

    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(upgrade)
    finally:
        await engine.dispose()
