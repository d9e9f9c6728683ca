"""A scheduled job in a container: `python -m chassis.schedule --every SECONDS -- COMMAND...`.

Compose has no cron (Kubernetes has CronJobs; there this is not used): one long-lived
process runs COMMAND now, then again SECONDS after the previous run *started*, as
`mosaic up` runs [tool.mosaic.jobs]. One run at a time: a run longer than the interval
delays the next. A failed run is logged and the job runs again next time. COMMAND's own
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
from importlib import metadata

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
    asyncio.run(run_every(command, args.every, args.grace))
    return 0


async def run_every(command: Sequence[str], every: float, grace: float) -> None:
    """Run `command` every `every` seconds (start to start) until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), max(0.0, began + every - loop.time()))


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
        description="Run COMMAND now and then every SECONDS (start to start), one run at a time.",
    )
    parser.add_argument(
        "--every", type=_positive, required=True, metavar="SECONDS", help="the interval"
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
