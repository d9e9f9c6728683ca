"""accounts' outbox table, as chassis.outbox's relay uses it.

A published row is deleted at once, not marked: a verification event carries the link's
token, which must not stay at rest in clear. A row that is not a valid event is set aside
at its first failure (`failed_at`, `error`: where and what, never the values), so it does
not block the links of everyone who signs up after it; the operator lists and retries it
(`mosaic admin dead-letters`, through `python -m accounts.jobs outbox`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chassis import Database, outbox
from sqlalchemy import text

from accounts.events import STREAM

SQL = outbox.OutboxSql(
    # No attempts column: a row the publisher refuses is set aside at once.
    pending=(
        "SELECT seq, event_id, 0 AS attempts, payload, traceparent FROM outbox"
        " WHERE failed_at IS NULL"
        " ORDER BY seq LIMIT :batch FOR UPDATE"
    ),
    published="DELETE FROM outbox WHERE seq = ANY(:seqs)",
    failed="UPDATE outbox SET failed_at = now(), error = :error WHERE seq = :seq",
    # Published rows are deleted at once: the table is the backlog (and the set-aside rows).
    backlog=(
        "SELECT count(*) AS pending,"
        " extract(epoch FROM now() - min(created_at)) AS oldest_seconds FROM outbox"
        " WHERE failed_at IS NULL"
    ),
)


class Relay(outbox.Relay):
    """chassis.outbox's relay on accounts' table and stream."""

    def __init__(
        self,
        database: Database,
        publish: outbox.Publish,
        *,
        batch: int = 100,
        poll_seconds: float = 0.5,
    ) -> None:
        super().__init__(
            database,
            publish,
            STREAM,
            SQL,
            batch=batch,
            poll_seconds=poll_seconds,
            max_attempts=1,
        )


@dataclass(frozen=True, slots=True)
class SetAside:
    """An outbox row the relay gave up on, as the operator sees it (never its payload: it
    may hold a link's token).

    Orders has the same reader over its own outbox, on purpose: the two tables differ
    (each service owns its schema: orders counts attempts, accounts keeps the error), so
    one shared reader would tie both to one schema. The shape they share is
    `chassis.outbox_job.OutboxTable`."""

    event_id: str
    type: str
    version: int
    attempts: int
    last_error: str | None
    created_at: datetime
    set_aside_at: datetime | None


async def set_aside(database: Database) -> list[SetAside]:
    """The rows the relay gave up on, oldest first."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT event_id, type, version, error, created_at, failed_at FROM outbox"
                " WHERE failed_at IS NOT NULL ORDER BY seq"
            )
        )
        return [
            SetAside(str(r.event_id), r.type, r.version, 1, r.error, r.created_at, r.failed_at)
            for r in rows
        ]


async def retry(database: Database, event_id: str | None) -> int:
    """Give set-aside rows (one, or all with None) to the relay again; how many."""
    async with database.engine.begin() as connection:
        result = await connection.execute(
            text(
                "UPDATE outbox SET failed_at = NULL, error = NULL WHERE failed_at IS NOT NULL"
                " AND (CAST(:id AS uuid) IS NULL OR event_id = CAST(:id AS uuid))"
            ),
            {"id": event_id},
        )
    return int(getattr(result, "rowcount", 0) or 0)
