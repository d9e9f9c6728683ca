"""The outbox relay: events accounts wrote to its outbox table, published to the broker.

orders' design (services/orders/src/orders/outbox.py): in order, a batch at a time under a
row lock, a row done only once the broker took it (at least once: consumers dedupe by
event id). Two differences: a published row is deleted, not marked, because a
verification event carries the link's token, which must not stay at rest in clear; and a
row the publisher refuses as invalid (`ValueError`: it can never be published) is set
aside (`failed_at`, `error`) and logged, so it does not block every event after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from chassis import Database, get_logger
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from accounts.events import STREAM

_log = get_logger("accounts.relay")


class Publish(Protocol):
    async def __call__(self, stream: str, envelope: dict[str, Any]) -> None:
        """Append the event to the stream; raise when the broker did not take it
        (`ValueError` when the envelope is not a valid event: no retry helps)."""
        ...


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
    ) -> None:
        self.database = database
        self.publish = publish
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.backoff_seconds = backoff_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
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
        """Publish up to one batch of events; how many went out."""
        published: list[int] = []
        failure: Exception | None = None
        async with self.database.engine.begin() as connection:
            rows = await connection.execute(
                text(
                    "SELECT seq, payload FROM outbox WHERE failed_at IS NULL"
                    " ORDER BY seq LIMIT :batch FOR UPDATE"
                ),
                {"batch": self.batch},
            )
            for row in rows:
                try:
                    await self.publish(STREAM, row.payload)
                except ValueError as invalid:  # never publishable: aside, and on with the rest
                    await _set_aside(connection, row.seq, invalid)
                    continue
                except Exception as error:
                    failure = error
                    break
                published.append(row.seq)
            if published:
                await connection.execute(
                    text("DELETE FROM outbox WHERE seq = ANY(:seqs)"), {"seqs": published}
                )
        if published:
            _log.info("events published", count=len(published), stream=STREAM)
        if failure is not None:
            raise failure
        return len(published)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


async def _set_aside(connection: AsyncConnection, seq: int, invalid: ValueError) -> None:
    reason = _why(invalid)
    await connection.execute(
        text("UPDATE outbox SET failed_at = now(), error = :error WHERE seq = :seq"),
        {"seq": seq, "error": reason},
    )
    # Without the payload: it may hold a link's token. An operator finds the row by seq.
    _log.error("outbox row set aside: not a valid event", seq=seq, error=reason)


def _why(invalid: ValueError) -> str:
    """Where and what, never the values (a payload may hold a link's token)."""
    if isinstance(invalid, ValidationError):
        places = (
            f"{'.'.join(str(part) for part in item['loc']) or 'envelope'}: {item['msg']}"
            for item in invalid.errors()[:5]
        )
        return "invalid event: " + "; ".join(places)
    return f"{type(invalid).__name__}"
