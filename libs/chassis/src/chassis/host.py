"""Several services in one process: the in-process mode, the benchmark's floor.

`python -m chassis.host SPEC.json` runs the processes a spec lists (`mosaic up --in-process`
writes it): for each, its service, Procfile process type, factory ("module:function",
returning a FastAPI app or a `chassis.worker.Worker`) and its environment. Each is built
while its own environment is applied (settings are read then, never later), then:

- every app's lifespan runs, then its API port opens as `chassis.serve` would open it
  (mTLS unless edge or mesh) and its ops port serves /healthz and /readyz;
- calls between the apps go through `chassis.inprocess` instead of the network: each
  client of a service hosted here is given the transport to that service's app;
- workers' loops (an outbox relay, an event consumer) run here too, each with its ops port;
- each service's lines name that service (`chassis.logs.log_as`), and so do its spans
  (`chassis.hosted_tracing`).

SIGTERM or Ctrl-C: every service reports not-ready, the API ports stop accepting and
finish their requests, calls still in flight between the apps finish, the loops finish the
work in hand (all within the grace period); then resources close and the process exits 0.
A second signal exits at once. A failing app or loop stops the whole process (exit 1), so
the runner restarts it as it would restart one service's process.

Long because loading a spec's units, building them and running them to a clean shutdown are
one lifecycle over the same `Unit`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import json
import os
import signal
import sys
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from fastapi import FastAPI

from chassis import inprocess, metrics
from chassis.client import ClientResource, ServiceClient
from chassis.client_inprocess import hosted_transport
from chassis.hosted_tracing import configure_hosted_tracing, serve_as
from chassis.inprocess import ASGIApp, Hosted, Scope
from chassis.logs import configure_logging, get_logger, log_as
from chassis.ops import Lifecycle, ops_server
from chassis.resources import Resource, Resources
from chassis.server import (
    api_server,
    enter_lifespan,
    listening_socket,
    run_event_loop,
)
from chassis.settings import ServiceSettings
from chassis.worker import Worker, run_loops, start_resources

_log = get_logger("chassis.host")


@dataclass(frozen=True)
class Unit:
    """One process of a service, hosted here."""

    service: str
    process: str  # its Procfile type: web, relay, worker...
    factory: str  # "module:function"
    env: Mapping[str, str]

    @property
    def name(self) -> str:
        return f"{self.service}.{self.process}"


def load_units(path: Path) -> list[Unit]:
    spec = json.loads(path.read_text())
    return [
        Unit(
            u["service"], u["process"], u["factory"], {str(k): str(v) for k, v in u["env"].items()}
        )
        for u in spec["units"]
    ]


def build(unit: Unit) -> FastAPI | Worker:
    """Import and call the unit's factory with its environment applied, then restore ours:
    whatever reads the environment later finds the host's, not another service's."""
    module, _, function = unit.factory.partition(":")
    env = dict(unit.env)
    if "SERVICE_VERSION" not in env:  # by default a service names the package of __main__
        with contextlib.suppress(metadata.PackageNotFoundError):
            env["SERVICE_VERSION"] = metadata.version(unit.service)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        built = getattr(importlib.import_module(module), function)()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if not isinstance(built, FastAPI | Worker):
        raise TypeError(f"{unit.factory} returned {type(built).__name__}, not an app or a Worker")
    return built


def logged_as(app: ASGIApp, settings: ServiceSettings) -> ASGIApp:
    """The app, naming its service on every line logged and every span made while it
    handles a request."""
    identity = {"service": settings.service_name, "version": settings.version}

    async def named(scope: Scope, receive: Any, send: Any) -> None:
        token = log_as(**identity)
        serving = serve_as(settings.service_name)
        try:
            await app(scope, receive, send)
        finally:
            serving.var.reset(serving)
            token.var.reset(token)

    return named


def _as(settings: ServiceSettings, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """A task whose lines name the service (its context is a copy: nothing leaks across)."""
    context = contextvars.copy_context()
    context.run(log_as, settings.service_name, settings.version)
    context.run(metrics.service.set, settings.service_name)
    context.run(serve_as, settings.service_name)
    return asyncio.get_running_loop().create_task(work, context=context)


def clients_of(resources: Iterable[Resource]) -> list[ServiceClient]:
    """The clients of other services among a unit's resources."""
    found = []
    for item in resources:
        if isinstance(item, ClientResource):
            found.append(item.http)
        elif isinstance(item, ServiceClient):
            found.append(item)
    return found


def route_in_process(hosted: Mapping[str, Hosted], resources: Iterable[Resource]) -> None:
    """Give each client of a service hosted here the transport to that service's app, before
    the lifespans open them; a client of any other service keeps the network."""
    for client in clients_of(resources):
        if (callee := hosted.get(client.service)) is not None:
            client.use(hosted_transport(callee, client.base_url, client.credentials))


class _Web:
    """One service's app: lifespan, its app as hosted here, API and ops ports."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.settings: ServiceSettings = app.state.settings
        self.port = self.settings.api_port()  # a web unit without PORT stops the host here
        self.lifecycle: Lifecycle = app.state.lifecycle
        asgi = logged_as(app, self.settings)
        self.hosted = Hosted(self.settings.service_name, asgi)
        self.resources: Resources = app.state.resources
        self.ops = ops_server(self.lifecycle, self.settings)
        self.api = api_server(asgi, self.settings, app.state.credentials, app.state.admission)
        self.started = asyncio.Event()  # set once serving, or failed (then `ok` is False)
        self.close_now = asyncio.Event()
        self.ok = False
        self.serving: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Lifespan in, ports open, wait for close_now, lifespan out (in this one task)."""
        lifespan = await enter_lifespan(self.app)
        if lifespan is None:
            self.started.set()
            return
        try:
            try:
                sock = listening_socket(self.settings.host, self.port)
            except OSError as error:
                _log.error("cannot listen", port=self.settings.port, error=str(error))
                self.started.set()
                return
            self.hosted.serving = True
            self.serving = asyncio.create_task(self.api.serve(sockets=[sock]))
            _log.info(
                "serving",
                host=self.settings.host,
                port=self.settings.port,
                ops_port=self.settings.ops_port,
                transport="in-process",
            )
            self.ok = True
            self.started.set()
            await self.close_now.wait()
        finally:
            self.hosted.serving = False
            await lifespan.aclose()

    def drain(self) -> None:
        self.lifecycle.draining = True
        self.api.should_exit = True


class _Loops:
    """One worker process's resources, loops and ops port."""

    def __init__(self, worker: Worker) -> None:
        self.worker, self.settings = worker, worker.settings
        self.resources = Resources(worker.resources)
        self.lifecycle = Lifecycle(resources=self.resources)
        self.ops = ops_server(self.lifecycle, self.settings)
        self.stop = asyncio.Event()

    async def run(self) -> bool:
        """Start the resources, run the loops until stopped; False if any failed."""
        settings = self.settings
        try:
            timeout = settings.startup_timeout_seconds
            if not await start_resources(self.resources, timeout, self.stop):
                return self.stop.is_set()
            self.lifecycle.started = True
            _log.info("working", ops_port=settings.ops_port, transport="in-process")
            return await run_loops(self.worker.loops, self.stop, settings.shutdown_grace_seconds)
        finally:
            self.lifecycle.started = False
            await self.resources.close()

    def drain(self) -> None:
        self.lifecycle.draining = True
        self.stop.set()
        for loop in self.worker.loops:
            loop.stop()


async def host(units: list[Unit], built: list[FastAPI | Worker]) -> bool:
    """Run everything until a stop signal; True after a clean stop."""
    webs = [_Web(b) for b in built if isinstance(b, FastAPI)]
    workers = [_Loops(b) for b in built if isinstance(b, Worker)]
    parts: list[_Web | _Loops] = [*webs, *workers]
    hosted = {web.hosted.service: web.hosted for web in webs}
    for part in parts:
        route_in_process(hosted, part.resources.items)
    grace = max([p.settings.shutdown_grace_seconds for p in parts], default=10.0)
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            for web in webs:
                web.api.force_exit = True
            return
        _log.info("shutting down", signal=signal.Signals(signum).name)
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    ops = [_as(p.settings, p.ops.serve()) for p in parts]
    running = [_as(w.settings, w.run()) for w in webs]
    looping = [_as(w.settings, w.run()) for w in workers]
    stopped = asyncio.create_task(stop.wait())
    starting = asyncio.gather(*(w.started.wait() for w in webs))
    ok = True
    try:
        first: set[asyncio.Future[Any]] = {starting, stopped}
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if starting.done() and all(w.ok for w in webs):
            _log.info("hosting", services=sorted({u.service for u in units}))
            # Until a stop signal, or until an API server or a loop ends on its own.
            ends: set[asyncio.Future[Any]] = {stopped, *looping}
            ends.update(w.serving for w in webs if w.serving is not None)
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        ok = stop.is_set()
        if not ok:
            _log.error("a hosted service failed; stopping them all")
    finally:
        starting.cancel()
        ok = await _shut_down(webs, workers, running, looping, grace) and ok
        for part in parts:
            part.ops.should_exit = True
        await asyncio.gather(*ops, return_exceptions=True)
        stopped.cancel()
    return ok


async def _shut_down(
    webs: list[_Web],
    workers: list[_Loops],
    running: list[asyncio.Task[None]],
    looping: list[asyncio.Task[bool]],
    grace: float,
) -> bool:
    # Stopped while starting: a service still waiting for its backing services stops
    # waiting, as serve() does. Then the ports: each finishes its requests, whose calls to
    # the others still go through.
    for web, task in zip(webs, running, strict=True):
        if not web.started.is_set():
            task.cancel()
    for web in webs:
        web.drain()
    for worker in workers:
        worker.drain()
    await asyncio.gather(*(w.serving for w in webs if w.serving is not None))
    for web in webs:
        web.hosted.serving = False
    await inprocess.finish_running(grace)
    loops_ok = all(r is True for r in await asyncio.gather(*looping, return_exceptions=True))
    for web in webs:
        web.close_now.set()
    results = await asyncio.gather(*running, return_exceptions=True)
    failures = (r for r in results if isinstance(r, Exception))  # not a cancelled start
    for failure in failures:
        _log.error("shutdown failed", error=f"{type(failure).__name__}: {failure}")
    _log.info("stopped")
    return loops_ok


def main(argv: list[str] | None = None) -> NoReturn:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m chassis.host SPEC.json", file=sys.stderr)
        raise SystemExit(2)
    units = load_units(Path(args[0]))
    if not units:
        print("chassis.host: the spec lists no process to host", file=sys.stderr)
        raise SystemExit(2)
    built = [build(unit) for unit in units]
    first: ServiceSettings = (
        built[0].settings if isinstance(built[0], Worker) else built[0].state.settings
    )
    configure_logging(
        service="in-process",
        version=first.version,
        log_format=first.log_format,
        level=first.log_level,
    )
    # A provider per hosted service, so each one's spans carry its own name (hosted_tracing).
    configure_hosted_tracing()
    sys.exit(0 if run_event_loop(host(units, built)) else 1)


if __name__ == "__main__":
    main()
