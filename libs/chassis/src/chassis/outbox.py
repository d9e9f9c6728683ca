"""The transactional outbox relay every producer runs: rows a service wrote to its outbox
table, in the same transaction as the state change, published to its stream.

Rows go out in the order they were written, a batch at a time, under a row lock (FOR
UPDATE): two relays never publish one batch at once, and the second sees those rows
already done. A row is done only after the broker took it; a crash in between publishes
it again (at least once: consumers dedupe by event id).

A row that can never go out (`Unpublishable`, or any `ValueError` such as pydantic's: its
envelope is not a valid event) does not hold up the rows after it: the failure is
recorded, the row skipped, and after `max_attempts` set aside for an operator. Any other
failure (the broker away) pauses the whole relay, as it says nothing about the row.

What stays per service is its table: `OutboxSql` holds the statements (orders marks a
published row and deletes it after a retention window; accounts deletes it at once, as
its rows carry a link's token).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings
from sqlalchemy import text

from chassis import metrics, tracing
from chassis.db import Database
from chassis.events import (
    BrokerSettings,
    Event,
    Publisher,
    RetentionSettings,
    StreamRetention,
)
from chassis.logs import get_logger
from chassis.settings import DatabaseSettings, ServiceSettings
from chassis.worker import Worker

_log = get_logger("chassis.outbox")
SWEEP_SECONDS = 60.0  # how often a relay with a retention window deletes rows past it


class Unpublishable(ValueError):
    """This row's event can never be published (e.g. an envelope that is not an Event)."""


class Publish(Protocol):
    async def __call__(
        self, stream: str, envelope: dict[str, Any], traceparent: str | None = None
    ) -> None:
        """Append the event to the stream, in the trace `traceparent` (the work that wrote
        the row) when given; raise Unpublishable for an event no retry can publish,
        anything else when the broker did not take it."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxSql:
    """A service's outbox table, as the relay uses it.

    pending: `seq, event_id, attempts, payload, traceparent` of rows to publish, in
        order, given `:batch`, ending `FOR UPDATE` (`traceparent`: the trace context of the
        transaction that wrote the row, NULL for rows written before it was kept);
    published: done with the rows `:seqs` (mark or delete them);
    failed: record a failed try of row `:seq` (`:attempts`, `:error`; `:give_up` when it
        is to be set aside);
    forget: delete rows published more than `:keep` seconds ago (None: `published`
        deletes them already);
    backlog: `pending, oldest_seconds` of the rows still to publish (for the metrics; it
        runs at most once per `metrics.PROBE_SECONDS`, so keep it to an indexed count).
    """

    pending: str
    published: str
    failed: str
    forget: str | None = None
    backlog: str | None = None


class RelaySettings(BaseSettings):
    """The relay's knobs every producer shares (mixed into its relay's settings)."""

    relay_batch: int = Field(
        default=100, validation_alias="RELAY_BATCH", ge=1, le=1000, description="1..1000"
    )
    relay_poll_seconds: float = Field(
        default=0.5,
        validation_alias="RELAY_POLL_SECONDS",
        gt=0,
        le=60,
        description="how often to look for new events when the outbox is empty (seconds)",
    )


class BrokerPublish:
    """`Publish` over chassis.events' Publisher: an envelope that is not an Event is
    Unpublishable, described by where and what, never the values (a payload may hold an
    address or a link's token)."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def __call__(
        self, stream: str, envelope: dict[str, Any], traceparent: str | None = None
    ) -> None:
        try:
            event = Event.model_validate(envelope)
        except ValidationError as error:
            raise Unpublishable(describe(error)) from error
        attributes = {"messaging.destination.name": stream, "mosaic.event_type": event.type}
        # The publishing is a span of the trace that wrote the row; the entry carries this
        # span's context, so the consumer's span is its child.
        with tracing.producer_span(f"{stream} publish", traceparent, attributes):
            await self.publisher.publish(stream, event, tracing.current_traceparent())


def describe(invalid: ValueError) -> str:
    """Why an envelope is not an event: where and what, never the values."""
    if isinstance(invalid, Unpublishable):
        return str(invalid)
    if isinstance(invalid, ValidationError):
        places = (
            f"{'.'.join(str(part) for part in item['loc']) or 'envelope'}: {item['msg']}"
            for item in invalid.errors()[:5]
        )
        return "invalid event: " + "; ".join(places)
    return type(invalid).__name__


class Relay:
    """A loop (`run` until `stop`), as chassis.worker runs them."""

    def __init__(
        self,
        database: Database,
        publish: Publish,
        stream: str,
        sql: OutboxSql,
        *,
        batch: int = 100,
        poll_seconds: float = 0.5,
        backoff_seconds: float = 1.0,
        max_attempts: int = 1,
        retention_seconds: float = 0.0,
    ) -> None:
        self.database = database
        self.publish = publish
        self.stream = stream
        self.sql = sql
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.backoff_seconds = backoff_seconds
        self.max_attempts = max_attempts
        self.retention_seconds = retention_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        if self.sql.backlog is not None:
            metrics.watch(self, self._measure_backlog(metrics.service.get()))
        try:
            await self._relay(loop, next_sweep)
        finally:
            metrics.unwatch(self)

    def _measure_backlog(self, service: str) -> metrics.Probe:
        async def measure() -> None:
            assert self.sql.backlog is not None
            async with self.database.engine.connect() as connection:
                row = (await connection.execute(text(self.sql.backlog))).one()
            metrics.outbox_pending.labels(service).set(row.pending)
            metrics.outbox_oldest_age.labels(service).set(float(row.oldest_seconds or 0))

        return measure

    async def _relay(self, loop: asyncio.AbstractEventLoop, next_sweep: float) -> None:
        while not self._stopping.is_set():
            try:
                if self.sql.forget is not None and loop.time() >= next_sweep:
                    await self.forget_published()
                    next_sweep = loop.time() + SWEEP_SECONDS
                sent = await self.relay_once()
            except Exception as error:  # the broker or the database away: wait, try again
                _log.warning(
                    "relay paused", stream=self.stream, error=f"{type(error).__name__}: {error}"
                )
                await self._pause(self.backoff_seconds)
                continue
            if sent < self.batch:
                await self._pause(self.poll_seconds)

    def stop(self) -> None:
        self._stopping.set()

    async def relay_once(self) -> int:
        """Publish up to one batch of pending events; how many went out."""
        published: list[int] = []
        failure: Exception | None = None
        async with self.database.engine.begin() as connection:
            rows = await connection.execute(text(self.sql.pending), {"batch": self.batch})
            for row in rows:
                try:
                    await self.publish(self.stream, row.payload, row.traceparent)
                except ValueError as invalid:  # never publishable: on with the rest
                    await self._failed(connection, row, invalid)
                    continue
                except Exception as error:
                    failure = error
                    break
                published.append(row.seq)
            if published:
                await connection.execute(text(self.sql.published), {"seqs": published})
        if published:
            _log.info("events published", count=len(published), stream=self.stream)
        if failure is not None:
            raise failure
        return len(published)

    async def _failed(self, connection: Any, row: Any, invalid: ValueError) -> None:
        attempts = row.attempts + 1
        give_up = attempts >= self.max_attempts
        reason = describe(invalid)[:1000]
        await connection.execute(
            text(self.sql.failed),
            {"attempts": attempts, "error": reason, "give_up": give_up, "seq": row.seq},
        )
        # Without the payload: it may hold an address or a link's token.
        log = _log.error if give_up else _log.warning
        log(
            "outbox event set aside" if give_up else "outbox event not publishable; skipped",
            stream=self.stream,
            seq=row.seq,
            event_id=str(row.event_id),
            attempts=attempts,
            error=reason[:200],
        )

    async def forget_published(self) -> int:
        """Delete the rows published more than retention_seconds ago; how many."""
        if self.sql.forget is None:
            return 0
        async with self.database.engine.begin() as connection:
            result = await connection.execute(
                text(self.sql.forget), {"keep": self.retention_seconds}
            )
        deleted = int(getattr(result, "rowcount", 0) or 0)
        if deleted:
            _log.info("published events forgotten", count=deleted, stream=self.stream)
        return deleted

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


class RelayProcessSettings(
    ServiceSettings, DatabaseSettings, BrokerSettings, RetentionSettings, RelaySettings
):
    """What a producer's `relay` process reads (a producer may add its own knobs)."""


def relay_process(
    settings: RelayProcessSettings,
    relay: Callable[[Database, Publish], Relay],
    stream: str,
) -> Worker:
    """The relay process: `relay` (built on its own database pool and a BrokerPublish) and
    the stream's retention (`StreamRetention`), as a chassis worker: /healthz and /readyz
    on OPS_PORT (ready once Postgres and the broker answer), SIGTERM finishes the batch in
    hand."""
    # One connection kept: the relay's loop is serial; a /metrics scrape (the backlog
    # gauge) that meets a poll in progress gets a second that is closed after (the pool's
    # overflow), instead of an idle Postgres backend (~13 MiB RSS) kept for it.
    database = Database(settings.database_url, pool_size=1)
    publisher = Publisher(settings.broker_url)
    retention = StreamRetention.configured(settings, settings.broker_url, stream)
    return Worker(
        settings, [relay(database, BrokerPublish(publisher)), retention], [database, publisher]
    )
