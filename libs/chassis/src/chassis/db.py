"""Postgres through SQLAlchemy's async engine on asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from chassis.tracing import instrument_engine


def async_url(url: str) -> str:
    """`postgresql://...` as given by the platform, with SQLAlchemy's asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


class Database:
    """One engine (connection pool) per process."""

    name = "postgres"

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = async_url(url)
        self.pool_size = pool_size
        self.echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Database is not open; it opens in the app's lifespan")
        return self._engine

    async def open(self) -> None:
        if self._engine is not None:
            return
        self._engine = create_async_engine(
            self.url,
            pool_size=self.pool_size,
            max_overflow=self.pool_size,
            pool_pre_ping=False,
            pool_recycle=1800,
            echo=self.echo,
            connect_args={"timeout": 5, "command_timeout": 30},
        )
        instrument_engine(self._engine.sync_engine)  # a span per query
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)

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

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None
