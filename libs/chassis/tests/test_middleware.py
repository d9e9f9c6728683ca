"""The request middleware as the logs see it: whose request id is kept, and what of the path
a log line may say (the route's template, never a secret in the path)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence

import httpx
import pytest
from asgi_lifespan import LifespanManager
from chassis import ServiceSettings, callers, configure_logging, create_app, metrics
from chassis.middleware import RequestContextMiddleware, RequestIdPolicy
from chassis.testing import ServiceKeys
from fastapi import APIRouter, FastAPI
from prometheus_client import generate_latest
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

router = APIRouter(dependencies=[callers("tester")])
SECRET = "Zk3_s3cret-guest-token-9qv"


@router.get("/orders/status/{token}")
async def order_by_token(token: str) -> dict[str, str]:
    if token == "crash":
        raise RuntimeError("boom")
    return {"status": "confirmed"}


@pytest.fixture
def app_for(
    settings: ServiceSettings, keys: ServiceKeys
) -> Callable[..., AsyncIterator[httpx.AsyncClient]]:
    async def client(
        *,
        edge: bool = False,
        accept: RequestIdPolicy | None = None,
        middleware: Sequence[Middleware] = (),
    ) -> AsyncIterator[httpx.AsyncClient]:
        app: FastAPI = create_app(
            settings.model_copy(update={"edge": edge}),
            routers=[router],
            accept_request_id=accept,
            middleware=middleware,
        )
        headers = keys.headers("tester", settings.service_name)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app, client=("203.0.113.9", 50000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=headers
            ) as http:
                yield http

    return client


def request_lines(out: str) -> list[dict[str, object]]:
    return [line for line in json_lines(out) if line["event"] == "request"]


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, object]]]:
    """The request lines logged so far; call once first, in the test (stdout is per phase).

    The same service and version as test_app's: structlog caches a logger on first use.
    """

    def lines(every: bool = False) -> list[dict[str, object]]:
        if not started:
            configure_logging(service="testsvc", version="1.2.3", log_format="json")
            started.append(True)
        out = capsys.readouterr().out
        return json_lines(out) if every else request_lines(out)

    started: list[bool] = []
    return lines


async def test_behind_the_edge_the_caller_s_request_id_is_kept(app_for, logs) -> None:
    logs()
    async for client in app_for():
        response = await client.get("/orders/status/x", headers={"x-request-id": "chain-1"})

    assert response.headers["x-request-id"] == "chain-1"
    [line] = logs()
    assert line["request_id"] == "chain-1"
    assert "client_request_id" not in line


async def test_at_the_edge_a_browser_s_request_id_is_not_taken(app_for, logs) -> None:
    logs()
    async for client in app_for(edge=True):
        response = await client.get("/orders/status/x", headers={"x-request-id": "mine-abc"})
        plain = await client.get("/orders/status/x")

    made = response.headers["x-request-id"]
    assert made != "mine-abc" and plain.headers["x-request-id"] != made
    chosen, unasked = logs()
    # The id answered is the id every line of the request carries; the browser's is kept apart.
    assert chosen["request_id"] == made
    assert chosen["client_request_id"] == "mine-abc"
    assert "client_request_id" not in unasked


async def test_at_the_edge_a_trusted_proxy_s_request_id_is_kept(app_for, logs) -> None:
    logs()
    seen: list[str | None] = []

    def from_the_ingress(connection: HTTPConnection) -> bool:
        seen.append(connection.client.host if connection.client else None)
        return connection.client is not None and connection.client.host == "203.0.113.9"

    async for client in app_for(edge=True, accept=from_the_ingress):
        response = await client.get("/orders/status/x", headers={"x-request-id": "lb-7f3a"})

    assert response.headers["x-request-id"] == "lb-7f3a"
    assert seen == ["203.0.113.9"]
    assert logs()[0]["request_id"] == "lb-7f3a"


async def test_a_request_id_is_visible_ascii_and_bounded(app_for, logs) -> None:
    async for client in app_for():
        long = await client.get("/orders/status/x", headers={"x-request-id": "a" * 500})
        spaced = await client.get("/orders/status/x", headers={"x-request-id": "a b\tc"})
        blank = await client.get("/orders/status/x", headers={"x-request-id": "   "})

    assert long.headers["x-request-id"] == "a" * 128
    assert spaced.headers["x-request-id"] == "abc"
    assert blank.headers["x-request-id"].strip()


async def test_the_log_line_names_the_route_template_never_the_secret(
    app_for, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(service="testsvc", version="1.2.3", log_format="json")
    capsys.readouterr()
    async for client in app_for():
        await client.get(f"/orders/status/{SECRET}")
        await client.get("/orders/status/crash")
        await client.get(f"/orders/unknown/{SECRET}")

    out = capsys.readouterr().out
    assert SECRET not in out
    matched, crashed, unmatched = request_lines(out)
    assert matched["route"] == "/orders/status/{token}"
    assert "path" not in matched
    assert crashed["route"] == "/orders/status/{token}" and crashed["status"] == 500
    assert unmatched["route"] == "<unmatched> /orders/…" and unmatched["status"] == 404


def _with_500_handler(handler: Callable[..., object]) -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(Exception, handler)  # type: ignore[arg-type]
    return app


async def _crash(app: FastAPI) -> httpx.Response:
    async def crash() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/crash", crash)
    app.add_middleware(RequestContextMiddleware, budget_ms=1000)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.get("/crash")


async def test_an_unexpected_error_gets_the_app_s_own_500_handler_answer() -> None:
    async def page(request: Request, error: Exception) -> Response:
        return PlainTextResponse(f"our page for {type(error).__name__}", status_code=500)

    response = await _crash(_with_500_handler(page))
    assert response.status_code == 500
    assert response.text == "our page for RuntimeError"
    assert response.headers["x-request-id"]


async def test_a_failing_500_handler_falls_back_to_problem_json() -> None:
    async def broken(request: Request, error: Exception) -> Response:
        raise ValueError("the handler itself fails")

    response = await _crash(_with_500_handler(broken))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/internal")


class Stamp:
    """A service's own middleware: marks every answer that passes back through it."""

    def __init__(self, app: ASGIApp, *, fail: bool = False) -> None:
        self.app, self.fail = app, fail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fail and scope["type"] == "http":
            raise ConnectionError("the store this middleware needs is down")

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-stamped", b"yes")]
            await send(message)

        await self.app(scope, receive, stamped)


async def test_a_service_middleware_s_failure_has_the_request_s_context(app_for, logs) -> None:
    logs()
    async for client in app_for(middleware=[Middleware(Stamp, fail=True)]):
        response = await client.get("/orders/status/fine")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    lines = logs(every=True)
    [error] = [line for line in lines if line["event"] == "unhandled error"]
    [request] = [line for line in lines if line["event"] == "request"]
    for line in (error, request):
        assert line["request_id"] == request_id and len(str(line["trace_id"])) == 32, line
    assert request["status"] == 500


async def test_a_route_s_crash_is_answered_through_the_service_s_middleware(app_for, logs) -> None:
    """ErrorBoundary, innermost, answers: the answer passes the service's own middleware
    (the frontend's security headers and session cookie), and the error is logged once."""
    logs()
    async for client in app_for(middleware=[Middleware(Stamp)]):
        response = await client.get("/orders/status/crash")
    assert response.status_code == 500
    assert response.headers["x-stamped"] == "yes"
    lines = logs(every=True)
    errors = [line for line in lines if line["event"] == "unhandled error"]
    assert [line["request_id"] for line in errors] == [response.headers["x-request-id"]]


async def test_a_middleware_added_outside_the_request_context_stops_the_start(
    settings: ServiceSettings,
) -> None:
    app = create_app(settings, routers=[router])
    app.add_middleware(Stamp)
    with pytest.raises(RuntimeError, match=r"Stamp runs outside the request context"):
        async with LifespanManager(app):
            pass


def served(route: str, status: str, service: str = "testsvc") -> float:
    labels = {"service": service, "route": route, "method": "GET", "status": status}
    found = metrics.REGISTRY.get_sample_value("mosaic_http_server_requests_total", labels)
    return found or 0.0


def timed(route: str, service: str = "testsvc") -> float:
    labels = {"service": service, "route": route, "method": "GET"}
    found = metrics.REGISTRY.get_sample_value(
        "mosaic_http_server_request_duration_seconds_count", labels
    )
    return found or 0.0


async def test_requests_are_counted_by_route_template_and_status(
    app_for: Callable[..., AsyncIterator[httpx.AsyncClient]],
) -> None:
    route = "/orders/status/{token}"
    before = (served(route, "200"), served(route, "500"), served("<unmatched>", "404"))
    durations = timed(route)
    async for client in app_for():
        await client.get(f"/orders/status/{SECRET}")
        await client.get("/orders/status/crash")
        await client.get(f"/nowhere/{SECRET}")
        await client.get(f"/{SECRET}")

    after = (served(route, "200"), served(route, "500"), served("<unmatched>", "404"))
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 2]
    assert timed(route) - durations == 2
    exposed = generate_latest(metrics.REGISTRY).decode()
    assert SECRET not in exposed  # neither a raw path nor a mistyped secret is a label
