"""The outbox relay: events the saga wrote to the outbox table, published to the broker.

Rows go out in the order they were written, a batch at a time, under a row lock (FOR
UPDATE): two relays never publish one batch at once, and the second sees those rows
already published. A row is marked published only after the broker took it; a crash in
between publishes it again (at least once: consumers dedupe by event id).

A row that can never go out (`Unpublishable`: its envelope is not a valid event) does not
hold up the rows after it: its attempts and last error are recorded, it is skipped, and
after `max_attempts` it is set aside (`set_aside_at`) for an operator (`mosaic admin
dead-letters`). Any other failure (the broker away) pauses the whole relay, as it says
nothing about the row. Published rows hold a shopper's address and e-mail: they are
deleted `retention_seconds` after publication.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chassis import Database, get_logger
from sqlalchemy import text

from orders.events import STREAM

_log = get_logger("orders.relay")
MAX_ATTEMPTS = 5
RETENTION_SECONDS = 86_400.0  # a day: long enough to look into a recent order's events
SWEEP_SECONDS = 60.0  # how often the relay deletes rows past retention


class Unpublishable(Exception):
    """This row's event can never be published (e.g. an envelope that is not an Event)."""


class Publish(Protocol):
    async def __call__(self, stream: str, envelope: dict[str, Any]) -> None:
        """Append the event to the stream; raise Unpublishable for an event no retry can
        publish, anything else when the broker did not take it."""
        ...


@dataclass(frozen=True, slots=True)
class SetAside:
    """An outbox row the relay gave up on, as the operator sees it."""

    event_id: str
    type: str
    version: int
    order_id: str
    attempts: int
    last_error: str | None
    created_at: datetime
    set_aside_at: datetime | None


class Relay:
    """A loop (`run` until `stop`), as chassis.worker runs them."""

    def __init__(
        self,
        database: Database,
        publish: Publish,
        *,
        batch: int = 100,
        poll_seconds: float = 0.5,
        backoff_seconds: float = 1.0,
        max_attempts: int = MAX_ATTEMPTS,
        retention_seconds: float = RETENTION_SECONDS,
    ) -> None:
        self.database = database
        self.publish = publish
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.backoff_seconds = backoff_seconds
        self.max_attempts = max_attempts
        self.retention_seconds = retention_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while not self._stopping.is_set():
            try:
                if loop.time() >= next_sweep:
                    await self.forget_published()
                    next_sweep = loop.time() + SWEEP_SECONDS
                sent = await self.relay_once()
            except Exception as error:  # the broker or the database away: wait, try again
                _log.warning("relay paused", error=f"{type(error).__name__}: {error}")
                await self._pause(self.backoff_seconds)
                continue
            if sent < self.batch:
                await self._pause(self.poll_seconds)

    def stop(self) -> None:
        self._stopping.set()

    async def relay_once(self) -> int:
        """Publish up to one batch of unpublished events; how many went out."""
        published: list[int] = []
        failure: Exception | None = None
        async with self.database.engine.begin() as connection:
            rows = await connection.execute(
                text(
                    "SELECT seq, event_id, attempts, payload FROM outbox"
                    " WHERE published_at IS NULL AND set_aside_at IS NULL"
                    " ORDER BY seq LIMIT :batch FOR UPDATE"
                ),
                {"batch": self.batch},
            )
            for row in rows:
                try:
                    await self.publish(STREAM, row.payload)
                except Unpublishable as error:
                    await self._failed(connection, row, error)
                    continue  # the rows after it go out regardless
                except Exception as error:
                    failure = error
                    break
                published.append(row.seq)
            if published:
                await connection.execute(
                    text("UPDATE outbox SET published_at = now() WHERE seq = ANY(:seqs)"),
                    {"seqs": published},
                )
        if published:
            _log.info("events published", count=len(published), stream=STREAM)
        if failure is not None:
            raise failure
        return len(published)

    async def _failed(self, connection: Any, row: Any, error: Exception) -> None:
        attempts = row.attempts + 1
        give_up = attempts >= self.max_attempts
        await connection.execute(
            text(
                "UPDATE outbox SET attempts = :attempts, last_error = :error,"
                " set_aside_at = CASE WHEN :give_up THEN now() END WHERE seq = :seq"
            ),
            {"attempts": attempts, "error": str(error)[:1000], "give_up": give_up, "seq": row.seq},
        )
        log = _log.error if give_up else _log.warning
        log(
            "outbox event set aside" if give_up else "outbox event not publishable; skipped",
            event_id=str(row.event_id),
            attempts=attempts,
            error=str(error)[:200],
        )

    async def forget_published(self) -> int:
        """Delete the rows published more than retention_seconds ago; how many."""
        async with self.database.engine.begin() as connection:
            result = await connection.execute(
                text(
                    "DELETE FROM outbox WHERE published_at IS NOT NULL"
                    " AND published_at < now() - make_interval(secs => :keep)"
                ),
                {"keep": self.retention_seconds},
            )
        deleted = int(getattr(result, "rowcount", 0) or 0)
        if deleted:
            _log.info("published events forgotten", count=deleted)
        return deleted

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


async def set_aside(database: Database) -> list[SetAside]:
    """The rows the relay gave up on, oldest first."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT event_id, type, version, order_id, attempts, last_error, created_at,"
                " set_aside_at FROM outbox WHERE published_at IS NULL AND set_aside_at IS NOT NULL"
                " ORDER BY seq"
            )
        )
        return [
            SetAside(
                str(r.event_id),
                r.type,
                r.version,
                str(r.order_id),
                r.attempts,
                r.last_error,
                r.created_at,
                r.set_aside_at,
            )
            for r in rows
        ]


async def retry(database: Database, event_id: str | None) -> int:
    """Give set-aside rows (one, or all with None) to the relay again; how many."""
    async with database.engine.begin() as connection:
        result = await connection.execute(
            text(
                "UPDATE outbox SET attempts = 0, set_aside_at = NULL"
                " WHERE published_at IS NULL AND set_aside_at IS NOT NULL"
                " AND (CAST(:id AS uuid) IS NULL OR event_id = CAST(:id AS uuid))"
            ),
            {"id": event_id},
        )
    return int(getattr(result, "rowcount", 0) or 0)
