"""cart's scheduled jobs. `python -m cart.jobs purge`: delete visitor carts idle for 30 days.

"Idle" is what cart keeps: `carts.updated_at`, which every change of a cart's lines
(add, set, remove, clear, merge, an order's lines taken out) moves to now; looking at a
cart does not. A visitor cart (no user: its owner is an anonymous browser id) unchanged
for IDLE_DAYS is deleted with its lines (ON DELETE CASCADE); a signed-in shopper's cart
is never purged. Safe to run twice, and alongside live traffic: each batch is one
`DELETE ... WHERE updated_at < cutoff`, which Postgres re-checks on a row a concurrent
change has just touched, so a cart changed meanwhile stays. Runs daily
([tool.mosaic.jobs] in pyproject.toml) under its advisory lock, recorded in `job_runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from chassis import (
    Database,
    DatabaseSettings,
    ServiceSettings,
    get_logger,
    load_settings,
)
from chassis.job_runs import record_run
from chassis.logs import configure_logging_from
from pydantic import Field
from sqlalchemy import text

_log = get_logger("cart.jobs")

IDLE_DAYS = 30
BATCH = 1000  # carts per DELETE: short transactions, whatever the backlog

PURGE_SQL = text(
    "DELETE FROM carts WHERE id IN (SELECT id FROM carts WHERE user_id IS NULL"
    " AND updated_at < now() - make_interval(days => :days) LIMIT :batch)"
    " AND user_id IS NULL AND updated_at < now() - make_interval(days => :days)"
)


class JobSettings(ServiceSettings, DatabaseSettings):
    """A job serves nothing: no ops port, and no catalog to call."""

    ops_port: int = Field(
        default=1, validation_alias="OPS_PORT", ge=1, le=65535, description="unused"
    )


async def purge(database_url: str, idle_days: int = IDLE_DAYS) -> int:
    """Delete the visitor carts unchanged for `idle_days`; how many."""
    database = Database(database_url, pool_size=1)
    await database.open()
    deleted = 0
    try:
        while True:
            async with database.engine.begin() as connection:
                batch = await connection.execute(PURGE_SQL, {"days": idle_days, "batch": BATCH})
            deleted += batch.rowcount
            if batch.rowcount < BATCH:
                return deleted
    finally:
        await database.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cart.jobs", description=__doc__.split("\n\n")[0]
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    jobs.add_parser(
        "purge",
        help=f"delete visitor carts unchanged for {IDLE_DAYS} days (and their lines)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    settings = load_settings(JobSettings)
    configure_logging_from(settings)

    def one_pass() -> int:
        deleted = asyncio.run(purge(settings.database_url))
        _log.info(f"idle visitor carts deleted: {deleted}", job="purge", deleted=deleted)
        return 0

    return record_run(settings.service_name, "purge", settings.database_url, one_pass)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
