"""Stand-ins for other services in a service's tests, and the check that keeps them honest.

A stand-in is a real aiohttp server on a free 127.0.0.1 port serving the routes its
subclass declares, with in-memory data: the service under test calls it over real HTTP
with the chassis client, so timeouts, retries and deadlines are exercised. It is a fake of
our own port, not a mock of a library.

A fake written by hand drifts from the service it imitates unless something checks it:
every answer a stand-in gives is recorded (`answered`), and `drift` compares those answers
with the callee's committed `openapi.json` (route, method, status, and the JSON body
against the response schema, `$ref`s resolved, with no field the contract does not name).
`called` is what the caller under test called, checked against its `reads.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

# No stubs in the lock (types-jsonschema is not declared): checked by its tests instead.
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from chassis.consumers import Reads, route_shape

PROBLEMS = "https://mosaic.dev/problems/"


def problem(status: int, kind: str, detail: str, **extra: Any) -> web.Response:
    """A problem+json answer, as every Mosaic service gives its refusals."""
    body = {"type": PROBLEMS + kind, "title": kind, "status": status, "detail": detail, **extra}
    return web.json_response(body, status=status, content_type="application/problem+json")


@dataclass(frozen=True)
class Answered:
    """One answer a stand-in gave: to which route (its template), with what."""

    method: str
    route: str  # the stand-in's own template, e.g. `/v1/products/{pid}`
    status: int
    body: Any  # the decoded JSON body; None when the answer was not JSON


@dataclass
class StandIn:
    """A stand-in for another service: its HTTP API on a free loopback port, started and
    stopped by the fixtures. A subclass declares its routes in `application()`."""

    url: str = field(default="", kw_only=True)
    runner: web.AppRunner | None = field(default=None, kw_only=True)
    answered: list[Answered] = field(default_factory=list, kw_only=True)
    # Set by a test that makes the stand-in answer off its contract on purpose (to see the
    # caller cope): its answers are then not checked.
    off_contract: bool = field(default=False, kw_only=True)
    # Cancel handlers whose client gave up, so a "slow upstream" test ends promptly.
    cancel_abandoned: ClassVar[bool] = False

    def application(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        app = self.application()
        app.middlewares.insert(0, self._record)  # outermost: sees every answer as sent
        self.runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=0.5,
            handler_cancellation=self.cancel_abandoned,
        )
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def called(self) -> list[tuple[str, str]]:
        """(method, template) of every route answered so far: what the caller called, to
        check against what it declares it reads (`chassis.consumers.Reads.undeclared`)."""
        return [(answer.method, answer.route) for answer in self.answered]

    def routes(self) -> list[tuple[str, str]]:
        """(method, template) of every route the stand-in declares."""
        found = []
        for route in self.application().router.routes():
            info = route.resource.get_info() if route.resource is not None else {}
            template = info.get("formatter") or info.get("path")
            if route.method != "HEAD" and template:
                found.append((route.method, str(template)))
        return found

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        info = request.match_info.route.resource
        route = info.canonical if info is not None else request.path
        body = None
        if (
            isinstance(response, web.Response)
            and response.body
            and "json" in (response.content_type or "")
        ):
            body = json.loads(response.text or "null")
        self.answered.append(Answered(request.method, route, response.status, body))
        return response


def closed_schema(node: Any) -> Any:
    """The schema with every object closed: a field the contract does not name is drift."""
    if isinstance(node, dict):
        closed = {key: closed_schema(value) for key, value in node.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [closed_schema(item) for item in node]
    return node


class Contract:
    """A callee's `openapi.json`, to check a stand-in's routes and answers against."""

    def __init__(self, callee: str, document: dict[str, Any]) -> None:
        self.callee = callee
        self.document = document
        self._paths: dict[str, str] = {route_shape(p): p for p in document.get("paths", {})}

    def path_of(self, method: str, route: str) -> str | None:
        """The contract's path template for a stand-in's route, when it has that operation."""
        path = self._paths.get(route_shape(route))
        if path is None or method.lower() not in self.document["paths"][path]:
            return None
        return path

    def unknown_routes(self, stand_in: StandIn) -> list[str]:
        """Each route the stand-in serves that the callee does not have."""
        return [
            f"stand-in {self.callee} serves {method} {route}, which {self.callee}'s "
            "openapi.json does not have"
            for method, route in stand_in.routes()
            if self.path_of(method, route) is None
        ]

    def checked(self, stand_in: StandIn, reads: Reads) -> list[str]:
        """Everything wrong with a stand-in once its test is done: routes the callee does
        not have, answers off its contract, calls the caller's `reads.py` does not declare."""
        found = self.unknown_routes(stand_in) + self.drift(stand_in)
        return found + reads.undeclared(self.callee, stand_in.called())

    def drift(self, stand_in: StandIn) -> list[str]:
        """Every way the stand-in's answers so far differ from the contract, one line each
        naming the stand-in, the route and the field."""
        problems: list[str] = []
        if stand_in.off_contract:
            return problems
        for answer in stand_in.answered:
            problems += self._checked(answer)
        return sorted(set(problems))

    def _checked(self, answer: Answered) -> list[str]:
        where = f"stand-in {self.callee}: {answer.method} {answer.route} answered {answer.status}"
        path = self.path_of(answer.method, answer.route)
        if path is None:
            return [f"{where}, a route {self.callee}'s openapi.json does not have"]
        responses = self.document["paths"][path][answer.method.lower()].get("responses", {})
        status = str(answer.status)
        if status not in responses:
            if answer.status >= 500:
                return []  # an outage the test simulated: any route may answer one
            return [f"{where}, a status the contract does not list for it"]
        content = responses[status].get("content") or {}
        if answer.body is None or not content:
            return []
        media = next(iter(content)) if len(content) == 1 else "application/json"
        if media not in content:
            return []
        # The response's schema as a document of its own, beside the contract's components:
        # both its `#/components/...` and its own `#/$defs/...` references resolve.
        schema = {**content[media]["schema"], "components": self.document.get("components", {})}
        if media == "application/json":
            schema = closed_schema(schema)
        # A problem stays open: RFC 9457 lets a problem carry members of its own (`field`,
        # `order_id`, ...), which a caller ignores unless it knows them.
        validator = Draft202012Validator(schema)
        return [
            f"{where}: field {'.'.join(str(p) for p in error.absolute_path) or '(body)'}: "
            f"{error.message}"
            for error in validator.iter_errors(answer.body)
        ]
