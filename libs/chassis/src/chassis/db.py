"""Postgres through SQLAlchemy's async engine on asyncpg.

The pool's use is a metric: connections in use and idle (read from the pool's own counts
when /metrics is read) and the time a session waited to get one (`_TimedPool`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from chassis import metrics
from chassis.tracing import instrument_engine


def async_url(url: str) -> str:
    """`postgresql://...` as given by the platform, with SQLAlchemy's asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


class _TimedPool(AsyncAdaptedQueuePool):
    """The async engine's pool, timing each checkout (a wait for a free connection, or the
    connect of a new one): `_do_get` is where a SQLAlchemy pool class hands one out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # made in Database.open, in its service's context
        self._wait = metrics.db_pool_wait.labels(metrics.service.get())

    def _do_get(self) -> ConnectionPoolEntry:
        started = time.perf_counter()
        try:
            return super()._do_get()
        finally:
            self._wait.observe(time.perf_counter() - started)

    def recreate(self) -> _TimedPool:
        # dispose() recreates the pool (as its own class, without our keyword): keep the label.
        pool = super().recreate()
        assert isinstance(pool, _TimedPool)
        pool._wait = self._wait
        return pool


class Database:
    """One engine (connection pool) per process."""

    name = "postgres"

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = async_url(url)
        self.pool_size = pool_size
        self.echo = echo
        self._engine: AsyncEngine | None = None
        self._autocommit: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._service = ""

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Database is not open; it opens in the app's lifespan")
        return self._engine

    @property
    def autocommit(self) -> AsyncEngine:
        """The same pool, each statement its own transaction: for work that is one statement.

        A read by primary key through `engine` is three round trips and three statements for
        Postgres (BEGIN, the SELECT, and the ROLLBACK of closing); here it is the SELECT
        alone: CPU per read -25 % in the service, -52 % in its Postgres backend
        (docs/performance.md, "Round 2: the cost of a hop"). A statement always runs in one
        snapshot and commits or fails as a whole (a CTE's parts with it), so a transaction
        around one statement adds nothing. Not for several statements that must agree or
        commit together (use `engine.begin()`). The connection is autocommit only while
        checked out: SQLAlchemy resets its isolation level when it returns to the pool.
        """
        if self._autocommit is None:
            raise RuntimeError("Database is not open; it opens in the app's lifespan")
        return self._autocommit

    async def open(self) -> None:
        if self._engine is not None:
            return
        service = metrics.service.get()
        self._service = service
        self._engine = create_async_engine(
            self.url,
            pool_size=self.pool_size,
            max_overflow=self.pool_size,
            pool_pre_ping=False,
            pool_recycle=1800,
            echo=self.echo,
            connect_args={"timeout": 5, "command_timeout": 30},
            poolclass=_TimedPool,
        )
        instrument_engine(self._engine.sync_engine)  # a span per query
        self._autocommit = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        metrics.watch(self, self._count_connections, every=0)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; commit explicitly (or use `session.begin()`)."""
        if self._sessions is None:
            raise RuntimeError("Database is not open; it opens in the app's lifespan")
        async with self._sessions() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def _count_connections(self) -> None:
        pool = self._engine.sync_engine.pool if self._engine is not None else None
        if isinstance(pool, AsyncAdaptedQueuePool):
            metrics.db_pool.labels(self._service, "in_use").set(pool.checkedout())
            metrics.db_pool.labels(self._service, "idle").set(pool.checkedin())

    async def close(self) -> None:
        metrics.unwatch(self)
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._autocommit = None
            self._sessions = None
