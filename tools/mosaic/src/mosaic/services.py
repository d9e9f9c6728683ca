"""The services of the workspace: services/*/pyproject.toml ([tool.mosaic]) + Procfile."""

import graphlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mosaic.backing.provision import check_service_name
from mosaic.errors import MosaicError
from mosaic.procfile import RELEASE, argv_with_arguments, read_procfile
from mosaic.schedules import EXAMPLE_CRON, MAX_EVERY, cron_problem

BACKINGS = frozenset({"postgres", "valkey", "broker", "smtp"})
_ROUTER_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_JOB_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
OPERATOR = "admin"  # the identity of `mosaic admin` calls; no service may take its name
# A service's Valkey user owns the keys `<service>:*`; one named "events" would own every
# service's event stream (`events:<service>`).
RESERVED = frozenset({OPERATOR, "events"})


@dataclass(frozen=True)
class Job:
    """A scheduled job of a service: `command` at the times `cron` names (UTC), or every
    `every` seconds once it is ready; exactly one of the two (mosaic.schedules)."""

    name: str
    command: str
    every: float | None
    cron: str | None = None

    @property
    def schedule(self) -> str:
        return f"cron {self.cron}" if self.cron is not None else f"every {self.every:g} s"


@dataclass(frozen=True)
class Service:
    name: str
    folder: Path
    backing: frozenset[str]
    calls: tuple[str, ...]
    edge: bool
    processes: dict[str, str]  # long-running process types to commands, Procfile order
    release: str | None  # the one-off release command, if any
    api: tuple[str, ...] = ()  # "module:router" of its API routes, for `mosaic admin policy`
    consumes: tuple[str, ...] = ()  # producers whose event streams it reads (backing broker)
    jobs: tuple[Job, ...] = ()  # [tool.mosaic.jobs], in file order
    # [tool.mosaic] app: process type -> "module:function" of its app or worker factory,
    # for `mosaic up --in-process`; a plain string names the web process's.
    apps: dict[str, str] = field(default_factory=dict)
    # [tool.mosaic] outbox: its job listing (and retrying) the outbox events its relay set
    # aside, for `mosaic admin dead-letters`
    outbox: str | None = None
    # [tool.mosaic.tasks]: one-off tasks, name -> command, run with arguments by
    # `mosaic admin run SERVICE TASK ARGS...`, never on a schedule
    tasks: dict[str, str] = field(default_factory=dict)


def url_variable(service: str) -> str:
    """The variable under which callers find a service, e.g. CATALOG_URL."""
    return "".join(c if c.isalnum() else "_" for c in service.upper()) + "_URL"


def load_service(folder: Path) -> Service:
    pyproject = folder / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as error:
        raise MosaicError(f"{pyproject} is not valid TOML: {error}") from None
    table = data.get("tool", {}).get("mosaic", {})
    name = folder.name
    check_service_name(name)
    if name == OPERATOR:
        raise MosaicError(
            f"{folder}: {OPERATOR!r} is the operator's identity, not a name for a service",
            "Rename the service folder.",
        )
    if name in RESERVED:
        raise MosaicError(
            f"{folder}: {name!r} is reserved (the prefix of every event stream)",
            "Rename the service folder.",
        )
    backing = frozenset(_strings(table.get("backing", []), f"{pyproject}: tool.mosaic.backing"))
    if unknown := sorted(backing - BACKINGS):
        raise MosaicError(
            f"{pyproject}: unknown backing service {', '.join(unknown)}",
            f"tool.mosaic.backing may list {' and '.join(sorted(BACKINGS))}.",
        )
    calls = tuple(_strings(table.get("calls", []), f"{pyproject}: tool.mosaic.calls"))
    edge = table.get("edge", False)
    if not isinstance(edge, bool):
        raise MosaicError(f"{pyproject}: tool.mosaic.edge must be true or false")
    api = tuple(_strings(table.get("api", []), f"{pyproject}: tool.mosaic.api"))
    if bad := [a for a in api if not _ROUTER_REF.match(a)]:
        raise MosaicError(
            f"{pyproject}: tool.mosaic.api entries must read module:router, not {bad[0]!r}",
            f'For example: api = ["{name}.api:router"]',
        )
    consumes = tuple(_strings(table.get("consumes", []), f"{pyproject}: tool.mosaic.consumes"))
    if consumes and "broker" not in backing:
        raise MosaicError(
            f"{pyproject}: tool.mosaic.consumes needs the broker",
            'Add "broker" to tool.mosaic.backing.',
        )
    jobs = _jobs(table.get("jobs", {}), f"{pyproject}: tool.mosaic.jobs")
    tasks = _tasks(table.get("tasks", {}), f"{pyproject}: tool.mosaic.tasks")
    if clash := sorted({j.name for j in jobs} & set(tasks)):
        raise MosaicError(
            f"{pyproject}: {clash[0]!r} is both a job and a task",
            "`mosaic admin run` takes either by name: rename one.",
        )
    types = read_procfile(folder / "Procfile")
    release = types.pop(RELEASE, None)
    if not types:
        raise MosaicError(f"{folder / 'Procfile'} has no long-running process type (e.g. web)")
    apps = _apps(table.get("app"), types, name, pyproject)
    outbox = table.get("outbox")
    outbox = outbox if isinstance(outbox, str) and outbox.strip() else None
    return Service(
        name, folder, backing, calls, edge, types, release, api, consumes, jobs, apps, outbox, tasks
    )


def _apps(value: object, types: dict[str, str], name: str, pyproject: Path) -> dict[str, str]:
    if value is None:
        return {}
    found = {"web": value} if isinstance(value, str) else value
    if not isinstance(found, dict) or not all(
        isinstance(v, str) and ":" in v and k in types for k, v in found.items()
    ):
        raise MosaicError(
            f"{pyproject}: tool.mosaic.app must name module:function for its process types",
            f'For example: app = "{name}.app:create_app", or '
            f'app = {{ web = "{name}.app:create_app" }}',
        )
    return dict(found)


def discover_services(services_dir: Path) -> list[Service]:
    """Every service folder with both a pyproject.toml and a Procfile, callees first."""
    if not services_dir.is_dir():
        raise MosaicError(f"{services_dir} is not a folder of services")
    folders = sorted(
        p.parent for p in services_dir.glob("*/pyproject.toml") if (p.parent / "Procfile").exists()
    )
    if not folders:
        raise MosaicError(
            f"no services found in {services_dir}",
            "A service is a folder with a pyproject.toml and a Procfile.",
        )
    services = {s.name: s for s in map(load_service, folders)}
    edges = [s.name for s in services.values() if s.edge]
    if len(edges) > 1:
        raise MosaicError(f"more than one edge service: {', '.join(edges)}; keep one")
    graph: dict[str, set[str]] = {}
    for service in services.values():
        if missing := [c for c in service.calls if c not in services]:
            raise MosaicError(
                f"{service.name} calls {', '.join(missing)}, not found in {services_dir}",
                "Fix tool.mosaic.calls, or add the Procfile of the service it names.",
            )
        graph[service.name] = set(service.calls)
        _check_consumes(service, services, services_dir)
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        raise MosaicError(f"services call each other in a cycle: {error.args[1]}") from None
    return [services[name] for name in order]


def _check_consumes(service: Service, services: dict[str, Service], services_dir: Path) -> None:
    if missing := [p for p in service.consumes if p not in services]:
        raise MosaicError(
            f"{service.name} consumes {', '.join(missing)}, not found in {services_dir}",
            "Fix tool.mosaic.consumes, or add the Procfile of the service it names.",
        )
    if silent := [p for p in service.consumes if "broker" not in services[p].backing]:
        raise MosaicError(
            f"{service.name} consumes {', '.join(silent)}, which publishes no events",
            'A producer lists "broker" in its tool.mosaic.backing.',
        )


def _jobs(value: object, where: str) -> tuple[Job, ...]:
    example = f'{{ command = "python -m cart.jobs purge", cron = {EXAMPLE_CRON} }}'
    if not isinstance(value, dict):
        raise MosaicError(f"{where} must be a table of jobs", f"For example: purge = {example}")
    return tuple(_job(name, job, f"{where}.{name}") for name, job in value.items())


def _job(name: str, job: object, where: str) -> Job:
    if not _JOB_NAME.match(name):
        raise MosaicError(f"{where}: {name!r} is not a valid job name (a-z, 0-9, _ and -)")
    rule = (
        f'Write {name} = {{ command = "...", cron = "MIN HOUR DAY MONTH WEEKDAY" }} (UTC, e.g. '
        f"{EXAMPLE_CRON}), or every = SECONDS (1 to {MAX_EVERY}) for under a minute."
    )
    fields = job if isinstance(job, dict) else {}
    command, every, cron = fields.get("command"), fields.get("every"), fields.get("cron")
    if (
        not isinstance(command, str)
        or not command.strip()
        or set(fields) - {"command", "every", "cron"}
        or (every is None) == (cron is None)
    ):
        raise MosaicError(f"{where} needs a command and exactly one of cron or every", rule)
    if cron is not None:
        problem = cron_problem(cron) if isinstance(cron, str) else "cron must be a string"
        if problem:
            raise MosaicError(f"{where}: {problem}", rule)
        return Job(name, command.strip(), None, cron.strip())
    if isinstance(every, bool) or not isinstance(every, int | float) or not 1 <= every <= MAX_EVERY:
        raise MosaicError(f"{where}: every = {every!r} is not 1 to {MAX_EVERY} seconds", rule)
    return Job(name, command.strip(), float(every))


def _tasks(value: object, where: str) -> dict[str, str]:
    example = '"python -m catalog.tasks import-products"'
    if not isinstance(value, dict):
        raise MosaicError(
            f"{where} must be a table of tasks", f"For example: import-products = {example}"
        )
    tasks = {}
    for name, command in value.items():
        if not _JOB_NAME.match(name):
            raise MosaicError(f"{where}: {name!r} is not a valid task name (a-z, 0-9, _ and -)")
        if not isinstance(command, str) or not command.strip():
            raise MosaicError(
                f'{where}.{name} must be a command, "..."', f"For example: {name} = {example}"
            )
        try:  # one simple command: ARGS follow it
            argv_with_arguments(command, [])
        except MosaicError as error:
            raise MosaicError(f"{where}.{name}: {error.message}", error.hint) from None
        tasks[name] = command.strip()
    return tasks


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MosaicError(f"{where} must be a list of names")
    return list(value)
