"""What each caller reads of each callee, checked against the callee's CURRENT contract.

Every service that calls others (`[tool.mosaic] calls`) or reads their events (`consumes`)
declares its reads in `<service>/reads.py` (`chassis.consumers.Reads`). Here, for every
provider, every caller's reads of it are checked against the provider's committed
openapi.json and event schemas: a provider that drops a field a caller reads, or a caller
that starts reading one that does not exist, fails here naming both. And each read is one
the provider lets the caller make (its route's allowlist) and the caller says it makes
(`calls`, `consumes`); every call its source makes to a literal `/v1/` path is declared
(the stand-ins' recordings check the same in the caller's own tests).
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from chassis.consumers import Reads
from mosaic.admin.policy import Route, service_routes
from mosaic.services import Service, discover_services

ROOT = Path(__file__).resolve().parents[2]


@cache
def services() -> dict[str, Service]:
    return {service.name: service for service in discover_services(ROOT / "services")}


def callers() -> list[str]:
    return sorted(name for name, s in services().items() if s.calls or s.consumes)


@cache
def reads_of(caller: str) -> Reads:
    declared = importlib.import_module(f"{caller}.reads").READS
    assert isinstance(declared, Reads) and declared.caller == caller
    return declared


def openapi(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (ROOT / "services" / service / "openapi.json").read_text()
    )
    return document


def event_schema(producer: str, kind: str, version: int) -> dict[str, Any] | None:
    path = ROOT / "services" / producer / "events" / f"{kind}.v{version}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def providers() -> list[str]:
    return sorted({p for c in callers() for p in reads_of(c).callees() | reads_of(c).producers()})


@cache
def routes(callee: str) -> tuple[Route, ...]:
    return tuple(service_routes(services()[callee]))


def test_every_caller_declares_what_it_reads() -> None:
    assert {"cart", "frontend", "notifications", "orders", "recommendations"} <= set(callers())
    for caller in callers():
        declaration = ROOT / "services" / caller / "src" / caller / "reads.py"
        assert declaration.is_file(), (
            f"{caller} calls or consumes others but has no {declaration.relative_to(ROOT)}: "
            "declare what it reads (docs/operations.md, 'What a caller reads')"
        )
        assert reads_of(caller).calls or reads_of(caller).events, caller


@pytest.mark.parametrize("provider", providers())
def test_what_callers_read_is_in_the_providers_contract(provider: str) -> None:
    problems: list[str] = []
    for caller in callers():
        reads = reads_of(caller)
        mine = Reads(
            caller,
            calls=tuple(call for call in reads.calls if call.callee == provider),
            events=tuple(event for event in reads.events if event.producer == provider),
        )
        problems += mine.check(openapi, event_schema)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("caller", callers())
def test_each_callee_read_is_one_the_caller_lists_and_the_callee_allows(caller: str) -> None:
    reads, service = reads_of(caller), services()[caller]
    assert reads.callees() == set(service.calls), f"{caller}: reads.py against tool.mosaic.calls"
    assert reads.producers() == set(service.consumes), f"{caller}: against tool.mosaic.consumes"
    refused = [
        f"{caller} reads {call.callee}'s {call.method} {call.path}, which no route of "
        f"{call.callee} allows {caller} to call"
        for call in reads.calls
        if not any(
            route.matches(call.method, call.path) and caller in route.callers
            for route in routes(call.callee)
        )
    ]
    assert not refused, "\n".join(refused)


METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
READ_ONLY = {"get_json", "_read"}  # the clients' helpers that GET the path they are given


def _path(node: ast.expr, named: dict[str, ast.expr]) -> str | None:
    """A `/v1/...` literal or f-string (or a name bound to one), `{}` for each placeholder."""
    node = named.get(node.id, node) if isinstance(node, ast.Name) else node
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    else:
        return None
    return text if text.startswith("/v1/") else None


def calls_in_code(caller: str) -> set[tuple[str, str]]:
    """(method, path) of every call in the caller's source that names a literal `/v1/` path:
    `request("GET", "/v1/...")`, `_call(...)`, `call(...)`, `get_json("/v1/...")`, ..."""
    found = set()
    for source in (ROOT / "services" / caller / "src").rglob("*.py"):
        if source.name == "reads.py":
            continue  # the declarations themselves
        tree = ast.parse(source.read_text())
        named = {
            target.id: node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            for index, argument in enumerate(node.args):
                path = _path(argument, named)
                if path is None:
                    continue
                before = node.args[index - 1] if index else None
                if isinstance(before, ast.Constant) and before.value in METHODS:
                    found.add((str(before.value), path))
                elif name in READ_ONLY:
                    found.add(("GET", path))
    return found


@pytest.mark.parametrize("caller", callers())
def test_every_call_in_the_callers_code_is_declared(caller: str) -> None:
    declared = [
        (call.method, re.sub(r"\{[^}]*\}", "p", call.path)) for call in reads_of(caller).calls
    ]
    undeclared = sorted(
        f"{caller} calls {method} {path} (in its code), which its reads.py does not declare"
        for method, path in calls_in_code(caller)
        if not any(
            method == known and re.fullmatch(re.escape(path).replace(r"\{\}", "[^/]+"), sample)
            for known, sample in declared
        )
    )
    assert not undeclared, "\n".join(undeclared)


def test_the_code_scan_finds_the_calls() -> None:
    """The scan sees calls made in each way the clients make them."""
    assert {
        ("GET", "/v1/products/{}"),  # request("GET", f"...")
        ("GET", "/v1/categories"),  # get_json("...")
        ("GET", "/v1/orders/by-token/{}"),  # _read(f"...")
        ("PUT", "/v1/carts/{}/items/{}"),  # path = f"..."; _request("PUT", path)
        ("DELETE", "/v1/users/me/addresses/{}"),  # viewer.call("DELETE", f"...")
    } <= calls_in_code("frontend")
    assert ("POST", "/v1/charges/{}/refunds") in calls_in_code("orders")


def test_notifications_reads_the_events_its_handlers_subscribe_to() -> None:
    account_mail = importlib.import_module("notifications.account_mail")
    handler = importlib.import_module("notifications.handler")
    subscribed = {
        (kind, version)
        for table in (handler.SUBSCRIBED, account_mail.SUBSCRIBED)
        for kind, versions in table.items()
        for version in versions
    }
    declared = {(event.type, event.version) for event in reads_of("notifications").events}
    assert declared == subscribed
