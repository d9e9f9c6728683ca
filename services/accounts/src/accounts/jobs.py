"""accounts' admin processes. `python -m accounts.jobs outbox`: the outbox events the relay
set aside (an envelope that is not a valid event), for `mosaic admin dead-letters`, which
runs it with the job environment the runner keeps ([tool.mosaic] outbox), as orders'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid

from chassis import (
    DatabaseSettings,
    ServiceSettings,
    configure_logging,
    get_logger,
    load_settings,
)
from chassis.outbox import set_aside_rows
from pydantic import Field

from accounts import outbox as outbox_rows

_log = get_logger("accounts.jobs")

OUTBOX_HELP = """\
List the outbox events the relay set aside (at their first failure: an envelope that is not
a valid event), oldest first: event id, type, version, last error; never the payload (it
may hold a link's token). --retry EVENT_ID (or --retry all) gives them back to the relay.
`mosaic admin dead-letters` runs this.
"""


class JobSettings(ServiceSettings, DatabaseSettings):
    """An admin process serves nothing: it needs no ports of its own."""

    port: int = Field(default=1, validation_alias="PORT", ge=1, le=65535, description="unused")
    ops_port: int = Field(
        default=1, validation_alias="OPS_PORT", ge=1, le=65535, description="unused"
    )


async def outbox(settings: JobSettings, retry_id: str | None) -> list[dict[str, object]]:
    """The set-aside rows (after giving `retry_id`, or all with "all", back to the relay)."""
    return await set_aside_rows(settings.database_url, outbox_rows, retry_id)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accounts.jobs", description=__doc__.split("\n\n")[0]
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    aside = jobs.add_parser(
        "outbox",
        help="list (or retry) the outbox events the relay set aside",
        description=OUTBOX_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    aside.add_argument("--retry", metavar="EVENT_ID", help="an event id, or all")
    aside.add_argument("--json", action="store_true", help="one JSON list on stdout")
    arguments = parser.parse_args(argv)
    if arguments.retry not in (None, "all"):
        try:
            uuid.UUID(arguments.retry)
        except ValueError:
            parser.error(f"--retry takes an event id (a UUID) or all, not {arguments.retry!r}")
    settings = load_settings(JobSettings)
    configure_logging(
        service=settings.service_name,
        version=settings.version,
        log_format=settings.log_format,
        level=settings.log_level,
    )
    rows = asyncio.run(outbox(settings, arguments.retry))
    if arguments.json:
        print(json.dumps(rows))
    for row in [] if arguments.json else rows:
        print(f"{row['event_id']}  {row['type']} v{row['version']}  {row['last_error']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
