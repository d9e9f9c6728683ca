"""Everything one `mosaic up` runs, started in phases and stopped in reverse:
backing servers, provisioning, release phases, then every process of every service.

Long because the phases of `mosaic up` and their shutdown in reverse are one ordered
sequence; read top to bottom, it is the order things start.
"""

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from mosaic.attach import Backing
from mosaic.backing.valkey import eviction_warning
from mosaic.backup_job import BACKUP_JOB_NAME, JOB, keeps_data, runner_command
from mosaic.builds import WORKTREE, build_env, forgotten_builds, short, started_from_builds
from mosaic.chaos.hops import Hops
from mosaic.chaos.runner import Chaos
from mosaic.children import Command
from mosaic.errors import MosaicError, UsageError
from mosaic.home import venv_bin
from mosaic.inprocess import (
    HOST_MODULE,
    HOST_PROCESS,
    HOST_SERVICE,
    HostedUnit,
    forget_spec,
    host_name,
    write_spec,
)
from mosaic.jobs import forget_job_envs, job_command, save_job_env, schedule
from mosaic.logs import LogStream
from mosaic.pki import Pki, ensure_pki
from mosaic.plan import (
    ProcessPlan,
    base_env,
    plan_processes,
    process_env,
    security_env,
    service_env,
    service_ports,
    tracing_env,
)
from mosaic.probes import LIVENESS, READINESS, Probe, runner_liveness, runner_readiness
from mosaic.procfile import shell_argv
from mosaic.prometheus_targets import write_targets
from mosaic.release import at_head, run_release
from mosaic.services import OPERATOR, Service, discover_services
from mosaic.state import read_state, write_state
from mosaic.supervisor import Identity, State, Supervised

if TYPE_CHECKING:
    from mosaic.dashboard import Shop

PROGRESS_EVERY = 2.0  # seconds between "waiting for ..." lines
DEFAULT_MAIL_PORT = 8025  # the dev mailbox page, when free (MailHog's and Mailpit's port)
DEFAULT_DASHBOARD_PORT = 8090  # the dashboard and OTLP receiver, when free

Started = TypeVar("Started")


@dataclass
class UpOptions:
    home: Path
    services_dir: Path
    port: int = 8080
    scale: dict[str, int] = field(default_factory=dict)
    database_url: str | None = None  # an external server's admin URL, instead of ours
    redis_url: str | None = None
    ready_timeout: float = 120.0
    grace_seconds: float = 10.0
    transport: str = "mtls"  # or "mesh": plain HTTP between services, tokens still on
    mail_port: int | None = None  # the dev mailbox page; None: 8025 if free, else any
    dashboard_port: int | None = None  # traces (OTLP receiver); None: 8090 if free, else any
    in_process: bool = False  # every service's processes in one host (the benchmark's floor)
    # `--build SERVICE=REF`: services started from a build (mosaic.builds) instead of the
    # working tree: service -> the commit's full sha, built beforehand.
    builds: dict[str, str] = field(default_factory=dict)
    faults: bool = False  # a fault proxy on every hop (mosaic.chaos.hops), for `mosaic chaos`


class Stack:
    def __init__(self, options: UpOptions, logs: LogStream) -> None:
        self.options = options
        self.logs = logs
        self.backing = Backing(
            options.home, logs, self.save_state, options.database_url, options.redis_url
        )
        self.processes: list[Supervised] = []
        self.url = f"http://127.0.0.1:{options.port}"
        self.ready = False
        self.mailbox_url: str | None = None  # the dev mailbox page, when a service sends mail
        self._smtp_url: str | None = None
        self.dashboard_url: str | None = None  # recent traces; the processes export there
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._jobs: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None
        self._hosted: list[HostedUnit] = []  # in-process mode: what the host runs
        self._shop: Shop | None = None  # what the dashboard draws
        # Each service as started and its environment (its scheduled jobs run with it, and
        # `mosaic upgrade`, mosaic.upgrade_runner, starts new builds with it); the builds it ran.
        self.services: dict[str, Service] = {}
        self.service_envs: dict[str, dict[str, str]] = {}
        self.builds: dict[str, dict[str, str | None]] = {}
        self.control: str | None = None  # the control channel's socket, once it listens
        self._control: asyncio.Server | None = None
        self._hops = Hops() if options.faults else None  # `mosaic up --faults`
        self._chaos: Chaos | None = None  # `mosaic chaos`, once the control channel listens
        self.liveness: Probe | None = LIVENESS  # mosaic.probes; MOSAIC_LIVENESS sets it
        self.readiness: Probe = READINESS

    async def start(self) -> None:
        began = time.monotonic()
        self.liveness = runner_liveness()
        self.readiness = runner_readiness(self.liveness)
        services = discover_services(self.options.services_dir)
        if self.options.in_process and self.options.scale:
            raise UsageError(
                "--scale cannot be combined with --in-process: the in-process mode runs "
                "every service once, in one process",
                "Drop --scale, or drop --in-process to run replicas as separate processes.",
            )
        if self.options.in_process and self.options.faults:
            raise UsageError(
                "--faults cannot be combined with --in-process: its services call each "
                "other without the network, so there is no hop to put a fault on",
                "Drop one of them.",
            )
        self.services = {s.name: s for s in services}  # as wired: the working tree's data
        started = started_from_builds(
            services, self.options.home, self.options.builds, self.options.in_process
        )
        plans = plan_processes(
            [started.get(s.name, s) for s in services], self.options.scale, self.options.port
        )
        self.builds = {
            s.name: {"current": self.options.builds.get(s.name, WORKTREE), "previous": None}
            for s in services
        }
        edge = next((s for s in services if s.edge), None)
        if edge is None:
            self.url = f"http://127.0.0.1:{plans[-1].port}"  # the caller of all others
        else:
            _check_port_free(self.options.port)
        releases = [f"{s.name}.release" for s in services if s.release]
        jobs = [f"{s.name}.{j.name}" for s in services for j in s.jobs] + [BACKUP_JOB_NAME]
        names = [p.name for p in plans if not self._is_hosted(p)]
        if self.options.in_process:
            names.append(host_name())
            self.logs.note(
                "in-process mode: every service in one process, calls between them without "
                "the network; the benchmark's floor, not for production"
            )
        self.logs.reserve(names + releases + jobs + ["postgres", "valkey"])
        self.logs.note(f"home {self.options.home}; services {', '.join(s.name for s in services)}")
        if forgotten := forgotten_builds(read_state(self.options.home)):
            self.logs.note(forgotten)
        self.save_state()
        identities = [s.name for s in services] + [OPERATOR]  # `mosaic admin call` too
        for issued in ensure_pki(self.options.home, identities):
            self.logs.note(f"issued the {issued.describe()}")

        await self._start_dashboard(services)
        if any("smtp" in s.backing for s in services):
            await self._start_mailbox()
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        backing_ready = asyncio.Event()
        ports = service_ports(plans)
        # Each service goes its own way: backing (if it has any), release, processes; a
        # service without backing starts at once; any failure stops them all.
        await _all_or_none(
            [
                self._start_backing(services, backing_ready),
                *(self._bring_up(s, ports, plans, backing_ready) for s in services),
            ]
        )
        if self._hosted:
            self._start_host()
        await self._wait_ready(self.processes)
        self.ready = True
        self.save_state()
        self.logs.note(
            f"all {len(self.processes)} processes ready in {time.monotonic() - began:.1f} s"
        )
        self.logs.banner(f"Mosaic is ready: {self.url}")
        if self.mailbox_url is not None:
            self.logs.banner(f"Dev mailbox: {self.mailbox_url}")
        self.logs.banner(f"Dashboard: {self.dashboard_url}")
        self._start_jobs(services)
        if not self.options.in_process:
            await self._open_control()
        self._jobs.append(asyncio.create_task(self._draw_graph(services)))

    async def _draw_graph(self, services: list[Service]) -> None:
        """The dashboard's edges, once the shop is ready: they cost a child process on a
        new home or after a change, nothing otherwise (mosaic.dashboard_edges)."""
        from mosaic.dashboard_edges import service_edges

        assert self._shop is not None
        home, folder = self.options.home, self.options.services_dir
        self._shop.edges[:] = await service_edges(home, folder, services)

    async def _open_control(self) -> None:
        from mosaic.control import serve_control, socket_path
        from mosaic.upgrade_runner import Upgrades

        upgrades = Upgrades(self)
        chaos = self._chaos = Chaos(self, self._hops)

        async def handle(request: dict[str, Any]) -> Any:
            chaotic = str(request["op"]).startswith("chaos.")
            return await (chaos.handle if chaotic else upgrades.handle)(request)

        self._control = await serve_control(self.options.home, handle)
        self.control = str(socket_path(self.options.home))
        self.save_state()

    async def stop(self) -> None:
        """Services first, all at once; then Valkey; Postgres last."""
        self.ready = False
        if self._control is not None:
            self._control.close()  # no upgrade starts anything from now on
            self.control = None
        for task in self._jobs:
            task.cancel()  # a running job gets its stop signal and grace period
        await asyncio.gather(*self._jobs, return_exceptions=True)
        if self._chaos is not None:
            self._chaos.resume_all()  # a paused process could not drain
        await asyncio.gather(*(p.stop() for p in self.processes))
        if self._hops is not None:
            await self._hops.close()
        for server in self.backing.servers:
            await server.stop()
        if self._http is not None:
            await self._http.close()
        for close in reversed(self._closers):
            await close()
        forget_job_envs(self.options.home)
        forget_spec(self.options.home)
        self.save_state()

    def kill(self) -> None:
        """SIGKILL everything at once: a second Ctrl-C while stopping."""
        for supervised in [*self.processes, *self.backing.servers]:
            supervised.kill()

    def save_state(self) -> None:
        processes = [p.status() for p in self.processes]
        write_state(
            self.options.home,
            {
                "runner_pid": os.getpid(),
                "home": str(self.options.home),
                "url": self.url,
                "transport": self.options.transport,
                "ready": self.ready,
                "mailbox": self.mailbox_url,
                "dashboard": self.dashboard_url,
                "mode": "in-process" if self.options.in_process else "processes",
                # In-process mode: the services the host process serves, with their ports.
                "hosted": [unit.describe() for unit in self._hosted],
                "control": self.control,  # `mosaic upgrade` asks here (mosaic.control)
                "builds": self.builds,  # per service: the build it runs, the one before
                "processes": [*(p.status() for p in self.backing.servers), *processes],
            },
        )
        write_targets(self.options.home, processes)

    async def _start_backing(self, services: list[Service], done: asyncio.Event) -> None:
        postgres = any("postgres" in s.backing for s in services)
        valkey = any({"valkey", "broker"} & s.backing for s in services)
        await self.backing.start_embedded(
            postgres and not self.options.database_url, valkey and not self.options.redis_url
        )
        # Only an external server: the embedded one is configured never to evict (valkey.py).
        external = self.options.redis_url if valkey else None
        if external and (warning := await eviction_warning(external)):
            self.logs.note(warning)
        done.set()

    async def _bring_up(
        self,
        service: Service,
        ports: dict[str, int],
        plans: list[ProcessPlan],
        backing_ready: asyncio.Event,
    ) -> None:
        if service.backing:
            await backing_ready.wait()
        credentials = security_env(Pki.of(self.options.home), service, self.options.transport)
        urls = await self.backing.provision(service)
        if "smtp" in service.backing:
            assert self._smtp_url is not None
            urls["SMTP_URL"] = self._smtp_url
        env = {
            **service_env(service, ports, urls, credentials, shop_url=self.url),
            **self._tracing_env(service),
        }
        if self._hops is not None:  # the addresses it reaches: its hops' proxies
            env = await self._hops.wire(service, env)
        self.service_envs[service.name] = env
        if service.jobs or service.tasks or service.outbox:  # `mosaic admin` runs these later
            save_job_env(self.options.home, service.name, env)
        build = str(self.builds[service.name]["current"])
        mine = [p for p in plans if p.service.name == service.name]
        if build != WORKTREE:  # the build's code: its release, its processes (not its jobs)
            self.logs.note(f"{service.name} runs the build {short(build)}")
            service, env = mine[0].service, build_env(env, self.options.home, build, service.name)
        if service.release is not None:
            await self.release(service, env)
        hosted = service.apps if self.options.in_process else {}
        for plan in (p for p in mine if p.kind in hosted):
            self._hosted.append(HostedUnit(plan, hosted[plan.kind], process_env(env, plan)))
        if separate := [p for p in mine if p.kind not in hosted]:
            self.logs.note(f"starting {', '.join(p.name for p in separate)}")
        for plan in separate:
            self.supervise(plan, process_env(env, plan), build)

    def _is_hosted(self, plan: ProcessPlan) -> bool:
        return self.options.in_process and plan.kind in plan.service.apps

    def _start_host(self) -> None:
        """One process for every hosted process (`chassis.host`); ready once all are."""
        units = self._hosted
        self.logs.note(f"starting {host_name()}: {', '.join(u.plan.name for u in units)}")
        spec = write_spec(self.options.home, units)
        command = Command(
            [str(venv_bin() / "python"), "-m", HOST_MODULE, str(spec)],
            cwd=self.options.services_dir,
            env={**base_env(), "LOG_FORMAT": "json", **self._tracing_env(None)},
            # It drains every service's requests, then the calls between them, then the
            # workers' loops: each may take a grace period.
            grace_seconds=self.options.grace_seconds * 2,
        )
        front = next((u.plan for u in units if u.plan.service.edge), units[0].plan)
        identity = Identity(host_name(), HOST_SERVICE, HOST_PROCESS, 1, front.port, front.ops_port)
        supervised = self._watched(identity, command, [u.plan.ops_port for u in units])
        self.processes.append(supervised)
        supervised.start()

    def _watched(self, identity: Identity, command: Command, ops_ports: list[int]) -> Supervised:
        """Supervised, ready once every one of its ops ports' /readyz answers, then alive
        while every /healthz does (mosaic.liveness)."""
        ready, alive = self.readiness, self.liveness or LIVENESS
        return Supervised(
            identity,
            command,
            partial(self._all_answer, ops_ports, ready.path, ready.timeout),
            self.logs,
            self.save_state,
            alive=partial(self._all_answer, ops_ports, alive.path, alive.timeout),
            liveness=self.liveness,
            readiness=ready,
        )

    async def _all_answer(self, ops_ports: list[int], path: str, timeout: float) -> bool:
        answers = (self._answers(port, path, timeout) for port in ops_ports)
        return all(await asyncio.gather(*answers))

    async def _start_mailbox(self) -> None:
        """The SMTP sink and the mailbox page, in this loop (see mosaic.mailbox)."""
        from mosaic.mailbox import Mailbox, mailbox_folder, server_port, start_smtp_sink
        from mosaic.mailpage import start_mail_page

        mailbox = Mailbox(mailbox_folder(self.options.home))

        def received(mail_id: str, sender: str, recipients: list[str]) -> None:
            self.logs.note(f"mail from {sender} to {', '.join(recipients)} ({mail_id})")

        sink = await start_smtp_sink(mailbox, 0, received)
        self._closers.append(_closing_server(sink))
        self._smtp_url = f"smtp://127.0.0.1:{server_port(sink)}"
        page, port = await _on_preferred_port(
            lambda port: start_mail_page(mailbox, port),
            self.options.mail_port,
            DEFAULT_MAIL_PORT,
            "the dev mailbox",
            "--mail-port",
        )
        self._closers.append(page.cleanup)
        self.mailbox_url = f"http://127.0.0.1:{port}"
        self.logs.note(f"dev mailbox: SMTP on {self._smtp_url}, mail in {mailbox.folder}")

    async def _start_dashboard(self, services: list[Service]) -> None:
        """The traces' receiver and the live dashboard, in this loop (see mosaic.dashboard)."""
        from mosaic.containers import WEB
        from mosaic.dashboard import Shop, start_dashboard
        from mosaic.log_files import logs_folder
        from mosaic.traces import TraceStore

        store = TraceStore()
        shop = Shop(
            services=[s.name for s in services],
            first=next((s.name for s in services if s.edge), None),
            workers=frozenset(s.name for s in services if WEB not in s.processes),
            processes=lambda: [p.status() for p in self.processes],
            logs=logs_folder(self.options.home),
        )
        runner, port = await _on_preferred_port(
            lambda port: start_dashboard(store, port, shop),
            self.options.dashboard_port,
            DEFAULT_DASHBOARD_PORT,
            "the dashboard",
            "--dashboard-port",
        )
        self._closers.append(runner.cleanup)
        self.dashboard_url = f"http://127.0.0.1:{port}"
        self._shop = shop

    def _tracing_env(self, service: Service | None) -> dict[str, str]:
        assert self.dashboard_url is not None  # started first
        return tracing_env(self.dashboard_url, service)

    def _start_jobs(self, services: list[Service]) -> None:
        for service in services:
            for job in service.jobs:
                command = job_command(
                    service, job, self.service_envs[service.name], self.options.grace_seconds
                )
                task = asyncio.create_task(schedule(service.name, job, command, self.logs))
                self._jobs.append(task)
                self.logs.note(f"{service.name}.{job.name} is scheduled: {job.schedule}")
        # The shop's own daily backup (mosaic.backup_job), on the embedded servers only.
        if not (self.options.database_url or self.options.redis_url) and keeps_data(services):
            command = runner_command(
                self.options.home, self.options.services_dir, self.options.grace_seconds
            )
            self._jobs.append(asyncio.create_task(schedule("mosaic", JOB, command, self.logs)))
            self.logs.note(f"{BACKUP_JOB_NAME} is scheduled: {JOB.schedule}")

    async def release(self, service: Service, env: dict[str, str]) -> None:
        assert service.release is not None
        if heads := await at_head(service.release, service.folder, env.get("DATABASE_URL")):
            self.logs.note(
                f"{service.name} is at its migrations' head ({', '.join(sorted(heads))}): "
                "no release needed"
            )
            return
        self.logs.note(f"running the release phase of {service.name}")
        command = Command(
            shell_argv(service.release),
            cwd=service.folder,
            env={**env, "MOSAIC_PROCESS": "release"},
            grace_seconds=self.options.grace_seconds,
        )
        await run_release(service.name, command, self.logs)

    def supervise(self, plan: ProcessPlan, env: dict[str, str], build: str) -> Supervised:
        """Start and keep running one process of the plan, from `build`'s code (the plan's
        service folder is that build's)."""
        command = Command(
            shell_argv(plan.service.processes[plan.kind]),
            cwd=plan.service.folder,
            env=env,
            grace_seconds=self.options.grace_seconds,
        )
        identity = Identity(
            plan.name, plan.service.name, plan.kind, plan.replica, plan.port, plan.ops_port, build
        )
        supervised = self._watched(identity, command, [plan.ops_port])
        self.processes.append(supervised)
        supervised.start()
        return supervised

    async def _answers(self, ops_port: int, path: str, timeout: float) -> bool:
        """One probe: 200 from the ops port's `path` within `timeout` seconds."""
        assert self._http is not None
        try:
            url = f"http://127.0.0.1:{ops_port}{path}"
            async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as got:
                return got.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def _wait_ready(self, processes: Sequence[Supervised]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.ready_timeout
        next_note = loop.time() + PROGRESS_EVERY
        while pending := [p for p in processes if not p.settled.is_set()]:
            if crashed := [p for p in processes if p.state == State.CRASHED]:
                raise crashed[0].failure()
            if loop.time() > deadline:
                raise MosaicError(
                    f"not ready after {self.options.ready_timeout:.0f} s: "
                    + ", ".join(p.identity.name for p in pending),
                    "Their output is above; each must answer 200 on /readyz at its OPS_PORT.",
                )
            if loop.time() > next_note:
                self.logs.note(f"waiting for {', '.join(p.identity.name for p in pending)}")
                next_note = loop.time() + PROGRESS_EVERY
            await asyncio.sleep(0.05)
        if crashed := [p for p in processes if p.state == State.CRASHED]:
            raise crashed[0].failure()


async def _all_or_none(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    """Run concurrently; on the first failure cancel the rest (and stop their processes)."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _on_preferred_port(
    start: Callable[[int], Awaitable[Started]],
    wanted: int | None,
    default: int,
    what: str,
    option: str,
) -> Started:
    """Start a page on the port asked for (taken: an error), else on `default`, else on any."""
    try:
        return await start(default if wanted is None else wanted)
    except OSError:
        if wanted is not None:
            raise MosaicError(
                f"port {wanted} for {what} is already in use",
                f"Pick another with `mosaic up {option} N`.",
            ) from None
        return await start(0)


def _closing_server(server: asyncio.Server) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        server.close()
        await server.wait_closed()

    return close


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server will: a port held only by closed connections (TIME_WAIT) is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise MosaicError(
                f"port {port} is already in use",
                "Stop whatever uses it, or pick another port with `mosaic up --port N`.",
            ) from None
