"""The services of the workspace: services/*/pyproject.toml ([tool.mosaic]) + Procfile."""

import graphlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mosaic.backing.provision import check_service_name
from mosaic.errors import MosaicError
from mosaic.procfile import RELEASE, read_procfile

BACKINGS = frozenset({"postgres", "valkey"})
_ROUTER_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
OPERATOR = "admin"  # the identity of `mosaic admin` calls; no service may take its name


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
    types = read_procfile(folder / "Procfile")
    release = types.pop(RELEASE, None)
    if not types:
        raise MosaicError(f"{folder / 'Procfile'} has no long-running process type (e.g. web)")
    return Service(name, folder, backing, calls, edge, types, release, api)


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
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        raise MosaicError(f"services call each other in a cycle: {error.args[1]}") from None
    return [services[name] for name in order]


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MosaicError(f"{where} must be a list of names")
    return list(value)
