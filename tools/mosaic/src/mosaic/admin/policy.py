"""Who may call which route of whom, collected from the services' own code.

Each service names its routers in `[tool.mosaic] api = ["catalog.api:router"]`; the
chassis says which callers each route allows (`chassis.security.route_policies`). From
that come the edges of the service graph (caller -> callee), checked against what each
service says it calls (`[tool.mosaic] calls`). The JSON form is what NetworkPolicies and
other tooling read; keep its shape stable.
"""

import importlib
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mosaic.errors import MosaicError
from mosaic.services import OPERATOR, Service


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template, e.g. /v1/products/{product_id}
    callers: tuple[str, ...]
    declared: bool = True  # False: the route says nothing, so it allows no caller

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and _template(self.path).fullmatch(path) is not None

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "callers": list(self.callers)}


@dataclass(frozen=True)
class Policy:
    routes: dict[str, list[Route]]  # by service, for every service that declares its api
    edges: list[tuple[str, str]]  # (caller, callee), from the allowlists
    warnings: list[str]  # where allowlists and tool.mosaic.calls disagree

    def as_json(self) -> dict[str, Any]:
        return {
            "services": {
                name: {"routes": [r.as_json() for r in routes]}
                for name, routes in sorted(self.routes.items())
            },
            "edges": [{"from": caller, "to": callee} for caller, callee in self.edges],
            "warnings": self.warnings,
        }


def collect_policy(services: Iterable[Service]) -> Policy:
    services = list(services)
    routes = {s.name: service_routes(s) for s in services if s.api}
    edges = sorted({(c, callee) for callee, rs in routes.items() for r in rs for c in r.callers})
    return Policy(routes, edges, _disagreements(services, routes, edges))


def service_routes(service: Service) -> list[Route]:
    """The routes of the service's `tool.mosaic.api` routers with their allowlists."""
    route_policies = _route_policies()
    found = []
    for reference in service.api:
        for entry in route_policies(_import_router(service, reference)):
            found.append(
                Route(
                    str(entry["method"]).upper(),
                    str(entry["path"]),
                    tuple(sorted(str(c) for c in entry["callers"])),
                    bool(entry.get("declared", True)),
                )
            )
    return sorted(set(found), key=lambda r: (r.path, r.method))


def _disagreements(
    services: list[Service], routes: dict[str, list[Route]], edges: list[tuple[str, str]]
) -> list[str]:
    by_name = {s.name: s for s in services}
    warnings = []
    for caller, callee in edges:
        where = ", ".join(f"{r.method} {r.path}" for r in routes[callee] if caller in r.callers)
        if caller == OPERATOR:
            continue  # the operator's `mosaic admin call`, not a service
        if caller not in by_name:
            warnings.append(f"{callee} allows {caller!r}, which is no service ({where})")
        elif callee not in by_name[caller].calls:
            warnings.append(
                f"{callee} allows {caller} ({where}), but {caller} does not list {callee} "
                "in its tool.mosaic.calls"
            )
    for service in services:
        for callee in service.calls:
            if callee not in routes:
                warnings.append(
                    f"{service.name} calls {callee}, whose pyproject.toml names no routers "
                    "(tool.mosaic.api), so its allowlists cannot be checked"
                )
            elif (service.name, callee) not in edges:
                warnings.append(
                    f"{service.name} calls {callee} (tool.mosaic.calls), but no route of "
                    f"{callee} allows {service.name}"
                )
    for name, service_routes_ in sorted(routes.items()):
        if undeclared := [f"{r.method} {r.path}" for r in service_routes_ if not r.declared]:
            warnings.append(
                f"{name}: no allowlist declared, so no caller is allowed: {', '.join(undeclared)}"
            )
    return warnings


def _route_policies() -> Callable[[Any], list[dict[str, Any]]]:
    try:
        security = importlib.import_module("chassis.security")
        found: Callable[[Any], list[dict[str, Any]]] = security.route_policies
    except (ImportError, AttributeError):
        raise MosaicError(
            "chassis.security.route_policies is not available in this environment",
            "Run `./mosaic --help` once to sync the workspace, then try again.",
        ) from None
    return found


def _import_router(service: Service, reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    source = service.folder / "src"
    if source.is_dir() and str(source) not in sys.path:
        sys.path.insert(0, str(source))  # a service's own code, even when not installed
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except Exception as error:  # any failure while importing a service's module
        raise MosaicError(
            f"cannot load {reference} (tool.mosaic.api of {service.name}): {error}",
            f"Fix tool.mosaic.api in {service.folder / 'pyproject.toml'}, or the module it "
            "names; it must import without a running service.",
        ) from None


def _template(path: str) -> re.Pattern[str]:
    """A route template as a regex: {name} is one segment, {name:path} any rest."""
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(
        (".+" if p.endswith(":path}") else "[^/]+") if p.startswith("{") else re.escape(p)
        for p in parts
    )
    return re.compile(regex)


def print_policy(policy: Policy, console: Console) -> None:
    """The routes as a table, then the edges, then whatever disagrees."""
    table = Table("callee", "method", "path", "allowed callers", title="Who may call what")
    for name, routes in sorted(policy.routes.items()):
        for route in routes:
            allowed = ", ".join(route.callers) or (
                "[dim]nobody (no allowlist declared)[/]" if not route.declared else "[dim]nobody[/]"
            )
            table.add_row(name, route.method, escape(route.path), allowed)
    if not policy.routes:
        console.print("No service names its routers (tool.mosaic.api); nothing to show.")
    else:
        console.print(table)
    console.print("Edges (caller -> callee):", style="bold")
    for caller, callee in policy.edges:
        console.print(f"  {caller} -> {callee}" + ("  (operator)" if caller == OPERATOR else ""))
    if not policy.edges:
        console.print("  none")
    for warning in policy.warnings:
        console.print(f"warning: {escape(warning)}", style="yellow")
    if not policy.warnings:
        console.print("Every tool.mosaic.calls matches an allowlist, and every allowlist a call.")
