"""A producer's `outbox` job: the outbox rows its relay set aside, for the operator
(`mosaic admin dead-letters` runs `python -m <service>.jobs outbox`). The command line,
the listing and the retry are the same for every producer; what stays per service is its
table (`OutboxTable`) and how one row reads on a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from chassis.db import Database
from chassis.logs import get_logger

_log = get_logger("chassis.outbox")


class OutboxTable(Protocol):
    """A producer's view of its set-aside rows, for the operator's job."""

    async def set_aside(self, database: Database) -> Sequence[Any]:
        """The rows the relay gave up on, oldest first (dataclasses, never a payload)."""
        ...

    async def retry(self, database: Database, event_id: str | None) -> int:
        """Give set-aside rows (one, or all with None) to the relay again; how many."""
        ...


async def set_aside_rows(
    database_url: str, table: OutboxTable, retry_id: str | None
) -> list[dict[str, Any]]:
    """The set-aside rows as JSON-ready dicts, after giving `retry_id` (an event id, or
    "all") back to the relay."""
    database = Database(database_url, pool_size=1)
    await database.open()
    try:
        if retry_id is not None:
            count = await table.retry(database, None if retry_id == "all" else retry_id)
            _log.info("outbox events given back to the relay", count=count)
        return [
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(row).items()}
            for row in await table.set_aside(database)
        ]
    finally:
        await database.close()


def _event_id_or_all(value: str) -> str:
    if value != "all":
        try:
            uuid.UUID(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"takes an event id (a UUID) or all, not {value!r}"
            ) from None
    return value


def add_outbox_job(
    jobs: argparse._SubParsersAction[argparse.ArgumentParser], description: str
) -> None:
    """The `outbox` job on a producer's jobs command line: --retry, --json."""
    aside = jobs.add_parser(
        "outbox",
        help="list (or retry) the outbox events the relay set aside",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    aside.add_argument(
        "--retry", metavar="EVENT_ID", type=_event_id_or_all, help="an event id, or all"
    )
    aside.add_argument("--json", action="store_true", help="one JSON list on stdout")


def outbox_job(
    arguments: argparse.Namespace,
    database_url: str,
    table: OutboxTable,
    line: Callable[[dict[str, Any]], str],
) -> int:
    """Run the `outbox` job `add_outbox_job` parsed: one JSON list with --json, else one
    `line` per row."""
    rows = asyncio.run(set_aside_rows(database_url, table, arguments.retry))
    if arguments.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(line(row))
    return 0
