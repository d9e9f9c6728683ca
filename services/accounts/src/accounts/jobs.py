"""accounts' admin processes. `python -m accounts.jobs outbox`: the outbox events the relay
set aside (an envelope that is not a valid event), for `mosaic admin dead-letters`, which
runs it with the job environment the runner keeps ([tool.mosaic] outbox), as orders'.
`python -m accounts.jobs backfill-names`: the one-off task of release 2 of the name split
([tool.mosaic.tasks], `mosaic admin run accounts backfill-names`), in accounts/backfill.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from chassis import Database, DatabaseSettings, ServiceSettings, get_logger, load_settings
from chassis.logs import configure_logging_from
from chassis.outbox_job import add_outbox_job, outbox_job
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from accounts import outbox as outbox_rows
from accounts.backfill import backfill_names

_log = get_logger("accounts.jobs")

OUTBOX_HELP = """\
List the outbox events the relay set aside (at their first failure: an envelope that is not
a valid event), oldest first: event id, type, version, last error; never the payload (it
may hold a link's token). --retry EVENT_ID (or --retry all) gives them back to the relay.
`mosaic admin dead-letters` runs this.
"""


BACKFILL_HELP = """\
Give every account written before given and family names existed its given and family
name, split from its display name by one rule: the last word is the family name, a single
word is a given name only. BATCH_SIZE accounts a transaction, in id order, a progress line
on stderr after each. Safe beside the running shop, twice at once, and again after a kill
or an error: it only fills accounts still without a given name, so a rerun carries on
where the last one stopped. Run it after release 2 is out, and to the end before the
release that drops the display name (whose migration refuses to run until it has).
"""


class JobSettings(ServiceSettings, DatabaseSettings):
    """An admin process serves nothing: it needs no ops port (nor PORT, which
    ServiceSettings leaves optional already)."""

    ops_port: int = Field(
        default=1, validation_alias="OPS_PORT", ge=1, le=65535, description="unused"
    )


def _line(row: dict[str, Any]) -> str:
    return f"{row['event_id']}  {row['type']} v{row['version']}  {row['last_error']}"


def _backfill(database_url: str, batch_size: int) -> int:
    def progress(done: int, total: int) -> None:
        share = f" ({100 * done // total}%)" if total else ""
        print(f"names split: {done} of {total}{share}", file=sys.stderr, flush=True)

    async def run() -> int:
        database = Database(database_url, pool_size=1)
        await database.open()
        try:
            return await backfill_names(database, batch_size, progress)
        finally:
            await database.close()

    try:
        done = asyncio.run(run())
    except (OSError, SQLAlchemyError) as error:
        print(
            f"backfill-names stopped: {error.__class__.__name__}: {error}. What it split is"
            " kept; run it again to carry on.",
            file=sys.stderr,
        )
        return 1
    print(f"{done} accounts' names split; none left to split")
    return 0


def _batch_size(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise argparse.ArgumentTypeError(f"takes a number from 1 to 10000, not {value!r}")
    return int(value)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accounts.jobs", description=__doc__.split("\n\n")[0]
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    add_outbox_job(jobs, OUTBOX_HELP)
    backfill = jobs.add_parser(
        "backfill-names",
        help="split the display names written before release 2 into given and family names",
        description=BACKFILL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backfill.add_argument("--batch-size", type=_batch_size, default=500, metavar="BATCH_SIZE")
    arguments = parser.parse_args(argv)
    settings = load_settings(JobSettings)
    configure_logging_from(settings)
    if arguments.job == "backfill-names":
        return _backfill(settings.database_url, arguments.batch_size)
    return outbox_job(arguments, settings.database_url, outbox_rows, _line)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
