"""accounts' outbox table, as chassis.outbox's relay uses it.

A published row is deleted at once, not marked: a verification event carries the link's
token, which must not stay at rest in clear. A row that is not a valid event is set aside
at its first failure (`failed_at`, `error`: where and what, never the values), so it does
not block the links of everyone who signs up after it.
"""

from __future__ import annotations

from chassis import Database, outbox

from accounts.events import STREAM

SQL = outbox.OutboxSql(
    # No attempts column: a row the publisher refuses is set aside at once.
    pending=(
        "SELECT seq, event_id, 0 AS attempts, payload FROM outbox WHERE failed_at IS NULL"
        " ORDER BY seq LIMIT :batch FOR UPDATE"
    ),
    published="DELETE FROM outbox WHERE seq = ANY(:seqs)",
    failed="UPDATE outbox SET failed_at = now(), error = :error WHERE seq = :seq",
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
        backoff_seconds: float = 1.0,
    ) -> None:
        super().__init__(
            database,
            publish,
            STREAM,
            SQL,
            batch=batch,
            poll_seconds=poll_seconds,
            backoff_seconds=backoff_seconds,
            max_attempts=1,
        )
