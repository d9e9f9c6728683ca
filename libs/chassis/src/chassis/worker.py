"""Running a worker process (no API port): its ops port, its loops, a graceful SIGTERM.

Like `chassis.server.serve`, for processes that consume events or poll: /healthz and
/readyz on OPS_PORT (ready once every resource answers, unready while draining), and on
SIGTERM each loop is asked to stop after the work in hand, given the grace period, then
cancelled; resources are closed and the process exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol

from chassis import metrics
from chassis.logs import configure_logging_from, get_logger
from chassis.ops import Lifecycle, ops_server
from chassis.resources import Resource, Resources
from chassis.settings import ServiceSettings
from chassis.tracing import configure_tracing

_log = get_logger("chassis.worker")


class Loop(Protocol):
    """Work that runs until stopped, e.g. a `chassis.events.Consumer`."""

    async def run(self) -> None: ...

    def stop(self) -> None:
        """Finish the work in hand, then return from run()."""


@dataclass(frozen=True)
class Worker:
    settings: ServiceSettings
    loops: Sequence[Loop]
    resources: Sequence[Resource] = ()  # opened (with backoff) before the loops start


def serve_worker(factory: Callable[[], Worker]) -> NoReturn:
    """Run the worker built by `factory` until SIGTERM; never returns.

    `factory` loads the settings first, so a bad setting stops the process with one line.
    Exits 1 when a loop fails (the runner restarts the process), 0 after SIGTERM.
    """
    worker = factory()
    settings = worker.settings
    configure_logging_from(settings)
    configure_tracing(settings.service_name, os.environ.get("MOSAIC_PROCESS", "worker"))
    sys.exit(0 if asyncio.run(_run(worker)) else 1)


async def _run(worker: Worker) -> bool:
    settings = worker.settings
    metrics.service.set(settings.service_name)  # the label of its pools and loops' metrics
    registry = Resources(worker.resources)
    lifecycle = Lifecycle(resources=registry)
    ops = ops_server(lifecycle, settings)  # the web process's, signals left to us
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if not stop.is_set():
            _log.info("shutting down", signal=signal.Signals(signum).name)
        lifecycle.draining = True
        stop.set()
        for loop in worker.loops:
            loop.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, on_signal, signum)
    ops_task = asyncio.create_task(ops.serve())
    try:
        if not await start_resources(registry, settings.startup_timeout_seconds, stop):
            return stop.is_set()  # stopped while starting is a clean exit
        lifecycle.started = True
        _log.info("working", ops_port=settings.ops_port)
        return await run_loops(worker.loops, stop, settings.shutdown_grace_seconds)
    finally:
        lifecycle.started = False
        await registry.close()
        ops.should_exit = True
        await ops_task


async def start_resources(registry: Resources, timeout: float, stop: asyncio.Event) -> bool:
    """Start the resources (within `timeout`); False if that failed or `stop` came first."""
    starting = asyncio.create_task(registry.start(timeout))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return False
    if error := starting.exception():
        _log.error("startup failed", error=f"{type(error).__name__}: {error}")
        return False
    return True


async def run_loops(loops: Sequence[Loop], stop: asyncio.Event, grace: float) -> bool:
    """Run the loops until `stop` (then give them `grace` seconds); False if one ended first."""
    tasks = [asyncio.create_task(loop.run()) for loop in loops]
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({*tasks, stopped}, return_when=asyncio.FIRST_COMPLETED)
    ok = stop.is_set()
    if not ok:
        for task in tasks:
            if task.done() and (error := task.exception()) is not None:
                _log.error("a worker loop failed", error=f"{type(error).__name__}: {error}")
        for loop in loops:
            loop.stop()
    stopped.cancel()
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    _log.info("stopped")
    return ok
