"""accounts' admin processes. `python -m accounts.jobs outbox`: the outbox events the relay
set aside (an envelope that is not a valid event), for `mosaic admin dead-letters`, which
runs it with the job environment the runner keeps ([tool.mosaic] outbox), as orders'.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chassis import DatabaseSettings, ServiceSettings, get_logger, load_settings
from chassis.logs import configure_logging_from
from chassis.outbox_job import add_outbox_job, outbox_job
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
    """An admin process serves nothing: it needs no ops port (nor PORT, which
    ServiceSettings leaves optional already)."""

    ops_port: int = Field(
        default=1, validation_alias="OPS_PORT", ge=1, le=65535, description="unused"
    )


def _line(row: dict[str, Any]) -> str:
    return f"{row['event_id']}  {row['type']} v{row['version']}  {row['last_error']}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accounts.jobs", description=__doc__.split("\n\n")[0]
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    add_outbox_job(jobs, OUTBOX_HELP)
    arguments = parser.parse_args(argv)
    settings = load_settings(JobSettings)
    configure_logging_from(settings)
    return outbox_job(arguments, settings.database_url, outbox_rows, _line)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
