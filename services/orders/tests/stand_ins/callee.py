"""What orders' five stand-ins share: like the real services they refuse a call without a
service token, and a test can have any route give a changed answer instead of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from chassis.stand_ins import StandIn, problem


@dataclass
class Callee(StandIn):
    """A stand-in for one of orders' callees; `changed` and `seen_bodies` are shared by all
    five (StandIns), so a test need not say which one serves a route."""

    # (method, path) -> (status, body) answered instead of the callee's own: a changed answer,
    # off the contract on purpose, so the stand-in that gives it is not checked that test.
    changed: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen_bodies: list[bytes] = field(default_factory=list)

    def guarded(self) -> web.Application:
        """An application whose every route needs a service token and can be changed."""
        return web.Application(middlewares=[self._guard])

    def reset(self) -> None:
        self.answered.clear()
        self.off_contract = False

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.seen_bodies.append(await request.read())
        if not request.headers.get("x-service-token"):
            return problem(401, "caller-unauthenticated", "no service token")
        if (request.method, request.path) in self.changed:
            self.off_contract = True
            status, body = self.changed[(request.method, request.path)]
            return web.json_response(body, status=status)
        response: web.StreamResponse = await handler(request)
        return response
