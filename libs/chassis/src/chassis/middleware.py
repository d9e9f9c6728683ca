"""The request middleware every service runs: context in, deadline check, canonical log line.

Pure ASGI (no BaseHTTPMiddleware) so it adds no task or body copy per request.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis import context
from chassis.errors import Problem, problem_response
from chassis.logs import get_logger

_log = get_logger("chassis.request")


class RequestContextMiddleware:
    """Binds request id, trace and deadline; refuses expired work; logs one line per request."""

    def __init__(self, app: ASGIApp, *, budget_ms: int, edge: bool = False) -> None:
        self.app = app
        self.budget = budget_ms / 1000
        # At the edge the caller is a browser: its x-deadline is not ours to trust.
        self.edge = edge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        request_id = headers.get(context.REQUEST_ID_HEADER) or context.new_request_id()
        request_id = request_id[:128]
        parent = context.Trace.parse(headers.get(context.TRACEPARENT_HEADER))
        trace = parent.child() if parent else context.Trace.new()
        now = time.time()
        # No request gets more than this service's budget, whatever its caller asked for.
        deadline = now + self.budget
        if not self.edge:
            asked = context.parse_deadline(headers.get(context.DEADLINE_HEADER))
            deadline = min(deadline, asked) if asked is not None else deadline

        request_id_token = context.request_id.set(request_id)
        trace_token = context.trace.set(trace)
        deadline_token = context.deadline.set(deadline)
        structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=trace.trace_id)
        status = 500
        started_response = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            if deadline <= now:
                # The caller has already given up: doing the work would only waste capacity.
                problem = Problem(504, "deadline-exceeded", "The request's deadline had passed.")
                await problem_response(problem, scope["path"])(scope, receive, send_with_context)
            else:
                await self.app(scope, receive, send_with_context)
        except Exception as error:
            # Handled here rather than by Starlette's ServerErrorMiddleware, which re-raises
            # to the server and so logs every failure twice, outside the request's context.
            _log.error("unhandled error", path=scope["path"], exc_info=error)
            if not started_response:
                problem = Problem(
                    500, "internal", "Something went wrong on our side; it is logged."
                )
                await problem_response(problem, scope["path"])(scope, receive, send_with_context)
        finally:
            route = scope.get("route")
            _log.info(
                "request",
                method=scope["method"],
                route=getattr(route, "path", None) or "<unmatched>",
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id", "trace_id")
            context.request_id.reset(request_id_token)
            context.trace.reset(trace_token)
            context.deadline.reset(deadline_token)


def _headers(scope: Scope) -> dict[str, str]:
    wanted = {
        context.REQUEST_ID_HEADER.encode(),
        context.TRACEPARENT_HEADER.encode(),
        context.DEADLINE_HEADER.encode(),
    }
    found: dict[str, Any] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            found[name.decode()] = value.decode("latin-1")
    return found
