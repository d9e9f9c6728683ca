"""The request middleware every service runs: context in, deadline check, canonical log line.

Every service's own middleware runs inside it (`create_app(middleware=...)`), so what
those do and fail at is logged with the request's id and trace, in its canonical line;
an error inside them or the routes is answered by `ErrorBoundary`, innermost.
Pure ASGI (no BaseHTTPMiddleware) so it adds no task or body copy per request.

The log line names the route's template (`/orders/status/{token}`), never the raw path: a
path may carry a secret (a guest order link, a token), and logs are read by more people
than the secret is meant for. A request no route matched logs only its first segment.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

import structlog
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis import context, metrics, tracing
from chassis.errors import Problem, problem_response
from chassis.logs import get_logger, log_line

_log = get_logger("chassis.request")
_request_log = logging.getLogger("chassis.request")  # the canonical line's, via log_line

MAX_REQUEST_ID_LENGTH = 128

# Whether a request's own x-request-id may be used as its id (else one is made here).
RequestIdPolicy = Callable[[HTTPConnection], bool]


def _always(_: HTTPConnection) -> bool:
    return True


def _never(_: HTTPConnection) -> bool:
    return False


class RequestContextMiddleware:
    """Binds request id, trace and deadline; refuses expired work; logs one line per request.

    Behind the edge, callers are our own verified services and their request id is kept.
    At the edge the caller is a browser: its id would let it choose (or collide with) ids in
    every service's logs, so the edge makes its own and logs the browser's one as
    `client_request_id`, unless `accept_request_id` says the request came through a proxy
    we trust (an ingress that sets the id itself).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        budget_ms: int,
        edge: bool = False,
        accept_request_id: RequestIdPolicy | None = None,
        service: str = "",
    ) -> None:
        self.app = app
        self.service = service  # the metrics' `service` label
        self.budget = budget_ms / 1000
        # At the edge the caller is a browser: its x-deadline is not ours to trust.
        self.edge = edge
        self.accept_request_id = accept_request_id or (_never if edge else _always)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        given = _printable(headers.get(context.REQUEST_ID_HEADER, ""))
        client_request_id: str | None = None
        if given and self.accept_request_id(HTTPConnection(scope)):
            request_id = given
        else:
            request_id = context.new_request_id()
            client_request_id = given or None
        # The request's span continues the caller's trace; its id is the one logged, so
        # `mosaic logs --trace` and the traces agree.
        span, span_token = tracing.start_server_span(scope["method"], headers)
        trace_id = tracing.current_trace_id()
        now = time.time()
        # No request gets more than this service's budget, whatever its caller asked for.
        deadline = now + self.budget
        if not self.edge:
            asked = context.parse_deadline(headers.get(context.DEADLINE_HEADER))
            deadline = min(deadline, asked) if asked is not None else deadline

        request_id_token = context.request_id.set(request_id)
        deadline_token = context.deadline.set(deadline)
        structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=trace_id)
        status = 500
        started_response = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                # Named now: the span ends with the response's last byte, before `finally`.
                tracing.name_server_span(scope["method"], route_template(scope), status)
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
            # A route's error is answered by ErrorBoundary, inside the service's middleware;
            # what reaches here failed in that middleware itself.
            await answer_error(scope, receive, send_with_context, error, started_response)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            line: dict[str, Any] = {
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
            _count(self.service, route, scope["method"], status, seconds)
            if client_request_id:
                line["client_request_id"] = client_request_id
            log_line(_request_log, "request", line)
            structlog.contextvars.unbind_contextvars("request_id", "trace_id")
            context.request_id.reset(request_id_token)
            context.deadline.reset(deadline_token)
            tracing.end_server_span(span, span_token, status)


def _count(service: str, route: str, method: str, status: int, seconds: float) -> None:
    # An unmatched path is one series (its first segment could be anything a client typed).
    route = "<unmatched>" if route.startswith("<unmatched>") else route
    method = metrics.method_label(method)
    metrics.http_server_requests.labels(service, route, method, str(status)).inc()
    metrics.http_server_duration.labels(service, route, method).observe(seconds)


class HTTPMiddleware:
    """A pure ASGI middleware of HTTP requests: `handle` sees each one, and anything else
    (the lifespan) passes straight through. A service's own middleware subclasses it too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class ErrorBoundary(HTTPMiddleware):
    """Turns a route's unexpected exception into the app's 500 answer, logged once.

    The innermost middleware, just outside the router: the answer then goes back out through
    every middleware of the service (the frontend's session cookie and security headers),
    and inside RequestContextMiddleware, which logs the request's line with its status.
    Handled here rather than by Starlette's ServerErrorMiddleware, which re-raises to the
    server and so logs every failure twice, outside the request's context.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started_response = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception as error:
            await answer_error(scope, receive, send, error, started_response)


async def answer_error(
    scope: Scope, receive: Receive, send: Send, error: Exception, started_response: bool
) -> None:
    """Log an unexpected error with the request's context; answer it unless an answer
    has begun already (then the client sees the connection end early)."""
    _log.error("unhandled error", route=route_template(scope), exc_info=error)
    if not started_response:
        answer = await error_response(scope, receive, error)
        await answer(scope, receive, send)


async def error_response(scope: Scope, receive: Receive, error: Exception) -> ASGIApp:
    """The answer to an unexpected error: the app's own 500 handler's, else problem+json.

    These middlewares sit inside Starlette's ServerErrorMiddleware, so the handler an app
    registers for `Exception` (or 500) would never see an error: it is asked here, with the
    request id still bound. The frontend's gives people an HTML page; an app without one
    gets the chassis's problem+json. A handler that fails itself is logged and replaced.
    """
    handlers: dict[Any, Any] = getattr(scope.get("app"), "exception_handlers", {})
    handler = handlers.get(500) or handlers.get(Exception)
    if handler is not None:
        try:
            answer = handler(Request(scope, receive), error)
            return await answer if inspect.isawaitable(answer) else answer  # type: ignore[no-any-return]
        except Exception as failure:
            _log.error("error handler failed", route=route_template(scope), exc_info=failure)
    problem = Problem(500, "internal", "Something went wrong on our side; it is logged.")
    return problem_response(problem, scope["path"])


def route_template(scope: Scope) -> str:
    """What a log may say about the path: the matched route's template, never its values.

    Unmatched (a 404, a mounted app such as static files), only the first segment is named
    (`/static/…`): the rest could be a mistyped secret.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str) and template:
        return template
    head, _, rest = str(scope.get("path", "")).lstrip("/").partition("/")
    return f"<unmatched> /{_printable(head)[:32]}" + ("/…" if rest else "")


def _printable(value: str) -> str:
    """An id fit for a log line: visible ASCII only, at most 128 characters."""
    kept = "".join(char for char in value[: MAX_REQUEST_ID_LENGTH * 4] if "!" <= char <= "~")
    return kept[:MAX_REQUEST_ID_LENGTH]


def _headers(scope: Scope) -> dict[str, str]:
    wanted = {
        context.REQUEST_ID_HEADER.encode(),
        context.DEADLINE_HEADER.encode(),
        b"traceparent",
        b"tracestate",
    }
    found: dict[str, Any] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            found[name.decode()] = value.decode("latin-1")
    return found
