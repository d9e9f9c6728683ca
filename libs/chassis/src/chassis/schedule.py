"""A scheduled job in a container: `python -m chassis.schedule (--cron EXPR | --every
SECONDS) -- COMMAND...`.

Compose has no cron (Kubernetes has CronJobs; there this is not used): one long-lived
process runs COMMAND at each time the five-field cron EXPR names (UTC), or now and then
again SECONDS after the previous run *started*, as `mosaic up` runs [tool.mosaic.jobs].
One run at a time: a run longer than the interval delays the next (and the job's own
advisory lock, chassis.job_runs, keeps other schedulers' runs from overlapping it).
A failed run is logged and the job runs again next time. COMMAND's own
output goes straight to stdout and stderr; this adds one JSON line per run (its exit code
and seconds). SIGTERM (or SIGINT) is passed to a running COMMAND, which gets --grace
seconds to finish before SIGKILL; then this exits 0, as a stopped container should.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata

from croniter import croniter  # type: ignore[import-untyped]  # ships no type hints

from chassis.logs import configure_logging, get_logger

_log = get_logger("chassis.schedule")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # a bad command line: usage and exit 2
    command: list[str] = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        _parser().error("no COMMAND given (put it after --)")
    configure_logging(
        service=os.environ.get("MOSAIC_SERVICE", "schedule"),
        version=os.environ.get("SERVICE_VERSION") or metadata.version("chassis"),
        log_format=os.environ.get("LOG_FORMAT", "auto"),
    )
    asyncio.run(run_every(command, args.every, args.grace, args.cron))
    return 0


async def run_every(
    command: Sequence[str], every: float | None, grace: float, cron: str | None = None
) -> None:
    """Run `command` every `every` seconds (start to start), or at each time `cron` names,
    until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    if cron is not None:
        first = _seconds_to(cron)
        _log.info("waiting for the first run", command=command[0], seconds=round(first, 1))
        await _until(stopping, first)
    while not stopping.is_set():
        began = loop.time()
        code = await _run_once(command, grace, stopping)
        seconds = round(loop.time() - began, 3)
        if code is None:
            pass  # could not start; already logged
        elif code == 0:
            _log.info("scheduled run ended", command=command[0], exit_code=0, seconds=seconds)
        else:
            _log.warning(
                "scheduled run failed", command=command[0], exit_code=code, seconds=seconds
            )
        wait = _seconds_to(cron) if cron is not None else began + (every or 0) - loop.time()
        await _until(stopping, wait)


def _seconds_to(cron: str) -> float:
    now = datetime.now(UTC)
    due: datetime = croniter(cron, now).get_next(datetime)
    return (due - now).total_seconds()


async def _until(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), max(0.0, seconds))


async def _run_once(command: Sequence[str], grace: float, stopping: asyncio.Event) -> int | None:
    try:
        process = await asyncio.create_subprocess_exec(*command)
    except OSError as error:
        _log.error("scheduled run could not start", command=command[0], error=str(error))
        return None
    finished = asyncio.ensure_future(process.wait())
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({finished, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not finished.done():  # stopping: the run gets its grace period, then SIGKILL
            with contextlib.suppress(ProcessLookupError):  # it may have just ended
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(finished), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                _log.warning("scheduled run killed", command=command[0], grace_seconds=grace)
        return await finished
    finally:
        stop.cancel()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chassis.schedule",
        description="Run COMMAND at each time EXPR names, or now and then every SECONDS "
        "(start to start), one run at a time.",
    )
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", type=_positive, metavar="SECONDS", help="the interval")
    when.add_argument(
        "--cron", type=_cron, metavar="EXPR", help='five-field cron, UTC, e.g. "0 3 * * *"'
    )
    parser.add_argument(
        "--grace",
        type=_positive,
        default=10.0,
        metavar="SECONDS",
        help="how long a running COMMAND may take to stop after SIGTERM (default 10)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARG...]")
    return parser


def _cron(value: str) -> str:
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a five-field cron expression")
    return value


def _positive(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r}: expected more than 0 seconds")
    return seconds


if __name__ == "__main__":
    sys.exit(main())
