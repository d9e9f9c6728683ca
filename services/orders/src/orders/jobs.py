"""orders' admin processes. `python -m orders.jobs recover`: one pass of the recovery.

The recovery finds sagas left between steps (their driver crashed, or a callee stayed
down past the deadline) whose lease has expired, takes each lease (one conditional UPDATE:
safe to run concurrently with itself and with live checkouts) and drives the order to its
end with the saga's own code: forward from a confirmed charge, else compensate; and it
removes the cart lines of confirmed orders that still have them, and watches orders
cancelled without a charge seen for a late one to refund (settling). Scheduled by the
runner every 30 s ([tool.mosaic.jobs] in pyproject.toml); `mosaic admin run orders
recover` runs it now. Each pass ends with a one-line summary in the log, and leaves a row
in `job_runs` (chassis.job_runs), which the web process counts on its /metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from chassis import (
    Credentials,
    Database,
    Resources,
    context,
    events,
    get_logger,
    load_settings,
)
from chassis.job_runs import record_run
from chassis.logs import configure_logging_from
from chassis.outbox_job import add_outbox_job, outbox_job
from pydantic import Field
from redis.asyncio import Redis

from orders import outbox as outbox_rows
from orders.domain import Order, Step
from orders.events import STREAM
from orders.lease import heartbeat
from orders.outbox import Relay
from orders.relay import OrdersRelaySettings
from orders.saga import Saga
from orders.settings import JobSettings
from orders.store import Store
from orders.upstream import upstream

_log = get_logger("orders.jobs")

RECOVER_HELP = """\
Drive every saga whose lease expired before it finished to its end, then exit (one pass):

  pricing, quoting   cancelled (checkout-interrupted; the recovery has no card, nothing
                     was charged, the checkout's key is released)
  charging           forward if payments shows a succeeded charge for the order, else
                     compensated (payment-unconfirmed, or the charge's own decline)
  shipping           forward (the same shipment key: never two shipments)
  compensating       compensation finished (shipment cancelled, charge refunded)
  confirmed          the ordered lines taken out of the cart
  cancelled          settling: until settle_until (SETTLE_SECONDS after a cancellation
                     with no charge seen) payments is asked again, and a late charge is
                     refunded (key order-<id>-refund-<charge>); then the order is settled

Safe to run concurrently with itself and with live checkouts: each order is taken with
its lease (one conditional UPDATE), and a driver whose lease was taken saves nothing.
Needs the service's environment (DATABASE_URL, the callees' URLs, the signing key).
Ends with one log line:
  taken over: N, forward: N, compensated: N, cart cleared: N, late charges refunded: N
"""


@dataclass
class Summary:
    """What one pass did."""

    found: int = 0  # unfinished orders with an expired lease
    taken_over: int = 0  # of which this pass took the lease (others had it meanwhile)
    forward: int = 0  # driven to confirmed
    compensated: int = 0  # driven to cancelled
    cart_cleared: int = 0  # confirmed orders whose cart lines it removed
    late_refunds: int = 0  # late charges on cancelled orders it refunded
    settled: int = 0  # cancelled orders whose settling window it closed
    left: int = 0  # taken but not finished (a callee down, or still settling)

    def count(self, was: Order, now: Order) -> None:
        self.forward += was.step is not Step.CONFIRMED and now.step is Step.CONFIRMED
        self.compensated += was.step is not Step.CANCELLED and now.step is Step.CANCELLED
        self.cart_cleared += now.cart_cleared and not was.cart_cleared
        self.settled += was.settling and not now.settling
        self.left += not now.finished

    def line(self) -> str:
        return (
            f"taken over: {self.taken_over}, forward: {self.forward}, "
            f"compensated: {self.compensated}, cart cleared: {self.cart_cleared}, "
            f"late charges refunded: {self.late_refunds}"
        )


async def recover(settings: JobSettings, limit: int) -> Summary:
    """One pass over the orders left unfinished with an expired lease."""
    credentials = Credentials.from_settings(settings)
    callees, clients = upstream(settings, credentials)
    database = Database(settings.database_url, pool_size=2)
    resources = Resources([credentials, database, *clients])
    await resources.start(settings.startup_timeout_seconds)
    summary = Summary()
    try:
        store = Store(database, lease_seconds=settings.lease_seconds)
        holder = f"recover-{uuid.uuid4()}"
        # The crash hook is the live checkout's: the recovery itself is not crashed.
        saga = Saga(store, callees, holder=holder, settle_seconds=settings.settle_seconds)
        stale = await store.stale(limit)
        summary.found = len(stale)
        for order_id in stale:
            order = await store.take_lease(order_id, holder)
            if order is None:  # a live checkout or another recovery has it
                continue
            summary.taken_over += 1
            deadline = time.time() + settings.saga_seconds
            context.deadline.set(deadline)
            async with heartbeat(store, order_id, holder):
                done = await saga.run(order, deadline=deadline)
            if not done.finished:
                # Left for the next pass (still settling, or a callee down): let go at once,
                # or the next pass, due a little under one period later, would find the
                # lease still held and skip the order.
                await store.release_lease(order_id, holder)
            summary.count(order, done)
            _log.info("recovered", order_id=order_id, was=order.step, now=done.step)
        summary.late_refunds = saga.late_refunds
    finally:
        await resources.close()
    return summary


TRIM_HELP = """\
One pass of the retention the relay also runs in its loop, for when no relay runs (scaled
to zero, stopped, a compose without it): delete outbox rows published more than
OUTBOX_RETENTION_SECONDS ago, and trim the event stream of entries older than
EVENTS_RETENTION_SECONDS that every consumer group has acknowledged (never one a group
has not read). Safe to run twice and alongside the relay: both delete by the same rule.
Ends with one log line: outbox rows deleted: N, stream entries trimmed: N
"""


class TrimSettings(OrdersRelaySettings):
    """The relay's retention knobs; a job has no ops port."""

    ops_port: int = Field(
        default=1, validation_alias="OPS_PORT", ge=1, le=65535, description="unused"
    )


async def trim(settings: TrimSettings) -> tuple[int, int]:
    """Outbox rows deleted and stream entries trimmed, by the relay's own rules."""
    database = Database(settings.database_url, pool_size=1)
    await database.open()
    try:
        relay = Relay(database, _never, retention_seconds=settings.outbox_retention_seconds)
        rows = await relay.forget_published()
    finally:
        await database.close()
    broker = Redis.from_url(settings.broker_url)
    try:
        entries = await events.trim(
            broker, STREAM, max_age_seconds=settings.events_retention_seconds
        )
    finally:
        await broker.aclose()
    return rows, entries


async def _never(
    stream: str, envelope: dict[str, Any], traceparent: str | None = None
) -> None:  # pragma: no cover  # the trim relays nothing
    raise AssertionError("the trim job publishes nothing")


OUTBOX_HELP = """\
List the outbox events the relay set aside (it failed to publish each RELAY_MAX_ATTEMPTS
times, e.g. an envelope that is not a valid event), oldest first: event id, type, version,
order id, attempts, last error. --retry EVENT_ID (or --retry all) gives them back to the
relay: their attempts start again from zero. `mosaic admin dead-letters` runs this.
"""


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['event_id']}  {row['type']} v{row['version']}  order {row['order_id']}"
        f"  attempts {row['attempts']}  {row['last_error']}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orders.jobs", description=__doc__.split("\n\n")[0]
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    recovery = jobs.add_parser(
        "recover",
        help="drive sagas stuck between steps to their end (one pass)",
        description=RECOVER_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    recovery.add_argument(
        "--limit", type=int, default=200, help="the most orders one pass takes (default 200)"
    )
    add_outbox_job(jobs, OUTBOX_HELP)
    jobs.add_parser(
        "trim",
        help="delete published outbox rows and trim the event stream (one pass)",
        description=TRIM_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    arguments = parser.parse_args(argv)
    if arguments.job == "trim":
        return _trim_job()
    settings = load_settings(JobSettings)
    configure_logging_from(settings)
    if arguments.job == "outbox":
        return outbox_job(arguments, settings.database_url, outbox_rows, _line)

    def one_pass() -> int:
        summary = asyncio.run(recover(settings, arguments.limit))
        # One line: the message says it all, the fields are there for queries.
        _log.info(summary.line(), job="recover", **asdict(summary))
        return 0

    # Recorded in job_runs, which the web process counts on its /metrics; a trace's root.
    return record_run(settings.service_name, "recover", settings.database_url, one_pass)


def _trim_job() -> int:
    settings = load_settings(TrimSettings)
    configure_logging_from(settings)

    def one_pass() -> int:
        rows, entries = asyncio.run(trim(settings))
        line = f"outbox rows deleted: {rows}, stream entries trimmed: {entries}"
        _log.info(line, job="trim", outbox_rows=rows, stream_entries=entries)
        return 0

    return record_run(settings.service_name, "trim", settings.database_url, one_pass)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
