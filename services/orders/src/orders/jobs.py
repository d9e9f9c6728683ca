"""orders' admin processes. `python -m orders.jobs recover`: one pass of the recovery.

The recovery finds sagas left between steps (their driver crashed, or a callee stayed
down past the deadline) whose lease has expired, takes each lease (one conditional UPDATE:
safe to run concurrently with itself and with live checkouts) and drives the order to its
end with the saga's own code: forward from a confirmed charge, else compensate; and it
removes the cart lines of confirmed orders that still have them. Scheduled by the runner
every 30 s ([tool.mosaic.jobs] in pyproject.toml); `mosaic admin run orders recover` runs
it now.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid

from chassis import (
    Credentials,
    Database,
    Resources,
    configure_logging,
    context,
    get_logger,
    load_settings,
)

from orders.app import upstream
from orders.saga import Saga
from orders.settings import JobSettings
from orders.store import Store

_log = get_logger("orders.jobs")


async def recover(settings: JobSettings, limit: int) -> dict[str, int]:
    """One pass: how many orders it found, took and left where they were."""
    credentials = Credentials.from_settings(settings)
    callees, clients = upstream(settings, credentials)
    database = Database(settings.database_url, pool_size=2)
    resources = Resources([credentials, database, *clients])
    await resources.start(settings.startup_timeout_seconds)
    counts = {"found": 0, "driven": 0, "finished": 0}
    try:
        store = Store(database, lease_seconds=settings.lease_seconds)
        holder = f"recover-{uuid.uuid4()}"
        # The crash hook is the live checkout's: the recovery itself is not crashed.
        saga = Saga(store, callees, holder=holder)
        stale = await store.stale(limit)
        counts["found"] = len(stale)
        for order_id in stale:
            order = await store.take_lease(order_id, holder)
            if order is None:  # a live checkout or another recovery has it
                continue
            counts["driven"] += 1
            deadline = time.time() + settings.saga_seconds
            context.deadline.set(deadline)
            done = await saga.run(order, deadline=deadline)
            counts["finished"] += done.finished
            _log.info("recovered", order_id=order_id, was=order.step, now=done.step)
    finally:
        await resources.close()
    return counts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orders.jobs", description=__doc__.split("\n\n")[0]
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    recovery = jobs.add_parser(
        "recover",
        help="drive sagas stuck between steps to their end (one pass)",
        description="Drive every saga whose lease expired before it ended: forward from a "
        "confirmed charge, else compensate; finish confirmed orders' cart removal. One "
        "pass, then exit; safe to run concurrently with itself and with live checkouts.",
    )
    recovery.add_argument(
        "--limit", type=int, default=200, help="the most orders one pass takes (default 200)"
    )
    arguments = parser.parse_args(argv)
    settings = load_settings(JobSettings)
    configure_logging(
        service=settings.service_name,
        version=settings.version,
        log_format=settings.log_format,
        level=settings.log_level,
    )
    counts = asyncio.run(recover(settings, arguments.limit))
    _log.info("recovery pass done", **counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
