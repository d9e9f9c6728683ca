"""The backfill of release 2 of the name split (docs/operations.md, "Changing a schema
safely"): given and family names for the accounts written before release 1, split from
their display name by the one rule (`PersonName.split`).

Safe to run beside the shop, twice at once, again after a kill, or on a schedule: each
batch is one transaction that locks its rows (`FOR UPDATE`) and fills only those still
without a given name, so a row is split once, a row the shop wrote meanwhile is left as
the shop wrote it, and a kill loses at most the batch in flight, which the next run
redoes. Batches follow the primary key (keyset: `id > last`), so each costs the same
however far the run has got.
"""

from __future__ import annotations

from collections.abc import Callable

from chassis import Database
from sqlalchemy import text

from accounts.domain import PersonName

_LEFT = text("SELECT count(*) FROM users WHERE given_name IS NULL AND display_name IS NOT NULL")
_BATCH = text(
    "SELECT id, display_name FROM users"
    " WHERE id > CAST(:after AS uuid) AND given_name IS NULL AND display_name IS NOT NULL"
    " ORDER BY id LIMIT :size FOR UPDATE"
)
_FILL = text(
    "UPDATE users SET given_name = :given, family_name = :family, updated_at = now()"
    " WHERE id = CAST(:id AS uuid) AND given_name IS NULL"
)
_BEFORE_ANY = "00000000-0000-0000-0000-000000000000"

Progress = Callable[[int, int], None]  # (rows split so far, rows to split at the start)


async def rows_left(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(_LEFT)).scalar_one())


async def backfill_names(database: Database, batch_size: int, progress: Progress) -> int:
    """Split every display name not split yet, `batch_size` rows a transaction; the number
    of rows split."""
    total = await rows_left(database)
    after, done = _BEFORE_ANY, 0
    while True:
        async with database.engine.begin() as connection:
            rows = (await connection.execute(_BATCH, {"after": after, "size": batch_size})).all()
            if not rows:
                return done
            names = [(str(row.id), PersonName.split(row.display_name)) for row in rows]
            await connection.execute(
                _FILL, [{"id": id, "given": n.given, "family": n.family} for id, n in names]
            )
        after, done = names[-1][0], done + len(rows)
        progress(done, total)
