"""orders' outbox table, as chassis.outbox's relay uses it, and the operator's view of it.

A row is marked published, not deleted: published rows (they hold a shopper's address and
e-mail) stay `retention_seconds` to look into a recent order's events, then go; the guest
link (`data.status_url`, a bearer token) leaves the row as it is published. A row that
can never be published is tried `max_attempts` times, then set aside (`set_aside_at`) for
an operator (`mosaic admin dead-letters`: `set_aside`, `retry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chassis import Database, outbox
from sqlalchemy import text

from orders.events import STREAM

MAX_ATTEMPTS = 5
RETENTION_SECONDS = 86_400.0  # a day: long enough to look into a recent order's events

SQL = outbox.OutboxSql(
    pending=(
        "SELECT seq, event_id, attempts, payload, traceparent FROM outbox"
        " WHERE published_at IS NULL AND set_aside_at IS NULL"
        " ORDER BY seq LIMIT :batch FOR UPDATE"
    ),
    # Kept for a look into recent events, but without the guest link: its token opens the
    # order's page (address included) and, like `orders.status_token`, is not kept in plain.
    published=(
        "UPDATE outbox SET published_at = now(), payload = payload #- '{data,status_url}'"
        " WHERE seq = ANY(:seqs)"
    ),
    failed=(
        "UPDATE outbox SET attempts = :attempts, last_error = :error,"
        " set_aside_at = CASE WHEN :give_up THEN now() END WHERE seq = :seq"
    ),
    forget=(
        "DELETE FROM outbox WHERE published_at IS NOT NULL"
        " AND published_at < now() - make_interval(secs => :keep)"
    ),
    # On the partial index outbox_unpublished: a count of the backlog, not of the table.
    backlog=(
        "SELECT count(*) AS pending,"
        " extract(epoch FROM now() - min(created_at)) AS oldest_seconds FROM outbox"
        " WHERE published_at IS NULL AND set_aside_at IS NULL"
    ),
)


class Relay(outbox.Relay):
    """chassis.outbox's relay on orders' table and stream."""

    def __init__(
        self,
        database: Database,
        publish: outbox.Publish,
        *,
        batch: int = 100,
        poll_seconds: float = 0.5,
        max_attempts: int = MAX_ATTEMPTS,
        retention_seconds: float = RETENTION_SECONDS,
    ) -> None:
        super().__init__(
            database,
            publish,
            STREAM,
            SQL,
            batch=batch,
            poll_seconds=poll_seconds,
            max_attempts=max_attempts,
            retention_seconds=retention_seconds,
        )


@dataclass(frozen=True, slots=True)
class SetAside:
    """An outbox row the relay gave up on, as the operator sees it. (Accounts has the same
    reader over its own, different outbox table: see accounts.outbox.SetAside for why it is
    not shared.)"""

    event_id: str
    type: str
    version: int
    order_id: str
    attempts: int
    last_error: str | None
    created_at: datetime
    set_aside_at: datetime | None


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
