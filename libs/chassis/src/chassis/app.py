"""The app factory: what turns a service's routers and resources into a running FastAPI app."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware

from chassis import metrics
from chassis.admission import AdmissionControl, Gate
from chassis.errors import install_problem_handlers
from chassis.limits import JSON, BodyLimits, RequestLimits, document_refusals
from chassis.middleware import ErrorBoundary, RequestContextMiddleware, RequestIdPolicy
from chassis.ops import Lifecycle
from chassis.resources import Resource, Resources
from chassis.routes import api_routes
from chassis.security import Credentials, callers, require_policies
from chassis.settings import ServiceSettings

if TYPE_CHECKING:
    from chassis.db import Database

OnStartup = Callable[[FastAPI], Awaitable[None]]

# Who may read a service's live contract: the operator (`mosaic admin call SERVICE
# /openapi.json`). No service needs it at run time; the contract is the committed
# openapi.json, built from the code (`chassis.contract`), not fetched.
CONTRACT_READERS = ("admin",)


def serve_contract(app: FastAPI, url: str, *, readers: Sequence[str]) -> None:
    """`url` answers the app's OpenAPI document, to `readers` only, like any other route
    (behind the edge every route declares its callers; the edge has none to check)."""

    async def contract() -> JSONResponse:
        return JSONResponse(app.openapi())

    guard = [callers(*readers)] if readers else []
    app.add_api_route(url, contract, include_in_schema=False, dependencies=guard)


def create_app(
    settings: ServiceSettings,
    *,
    routers: Sequence[APIRouter],
    resources: Sequence[Resource] = (),
    on_startup: OnStartup | None = None,
    credentials: Credentials | None = None,
    accept_request_id: RequestIdPolicy | None = None,
    middleware: Sequence[Middleware] = (),
    body_types: Sequence[str] = (JSON,),
    title: str | None = None,
    description: str = "",
    **fastapi_options: Any,
) -> FastAPI:
    """Build a service's app: problem+json errors, request context, resources in the lifespan.

    Resources are opened and awaited (with backoff) before the app serves, and closed after
    the last in-flight request on shutdown. Routes reach them via `chassis.dependency(Type)`.
    Pass the same `credentials` the app's `ServiceClient`s use (made from the settings when
    omitted). Unless the service is the edge, every route must declare its callers.
    `accept_request_id` says whose x-request-id to keep (default: every caller's, except
    at the edge, which makes its own; see `RequestContextMiddleware`).
    `middleware`: the service's own, outermost first; all of it runs inside the request
    context (request id, trace, canonical line). One added later with `app.add_middleware`
    would run outside it: the app then refuses to start.
    `body_types`: the media types a request body may have (JSON for an API; the edge's
    forms take form encodings); the settings' MAX_BODY_BYTES and MAX_JSON_DEPTH bound it
    (`chassis.limits`), inside the service's own middleware so that it answers in its voice.
    """
    credentials = credentials or Credentials.from_settings(settings)
    registry = Resources([credentials, *resources])
    lifecycle = Lifecycle(resources=registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _require_context_outermost(app)
        metrics.service.set(settings.service_name)  # the label of the pools opened next
        await registry.start(settings.startup_timeout_seconds)
        if databases := _databases(registry):  # its job runs, counted by its web process
            from chassis import job_runs

            job_runs.export_runs(databases[0], settings.service_name)
        try:
            if on_startup is not None:
                await on_startup(app)
            lifecycle.started = True
            yield
        finally:
            lifecycle.started = False
            if databases:
                job_runs.unexport_runs(settings.service_name)
            await registry.close()

    contract_url = fastapi_options.pop("openapi_url", "/openapi.json")
    app = FastAPI(
        title=title or settings.service_name,
        version=settings.version,
        description=description,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load assets from a CDN; the contract is openapi.json.
        redoc_url=None,
        openapi_url=None,  # FastAPI's own would answer anyone: ours goes through callers()
        # FastAPI's native telemetry would add its own request span around ours, and spans
        # per dependency: the chassis makes the request's span (chassis.tracing).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        **fastapi_options,
    )
    app.state.settings = settings
    app.state.resources = registry
    app.state.lifecycle = lifecycle
    app.state.credentials = credentials
    install_problem_handlers(app)
    if _databases(registry):
        from chassis.db_outage import install_outage_handler

        install_outage_handler(app)
    # Read from the routers, before they are included: FastAPI (0.165) keeps an included
    # router as one opaque entry of `app.routes`, and copies its routes' responses then.
    routes = [route for router in routers for route in api_routes(router.routes)]
    document_refusals(routes)
    for router in routers:
        app.include_router(router)
    if contract_url:
        serve_contract(app, contract_url, readers=() if settings.edge else CONTRACT_READERS)
    if not settings.edge:
        require_policies(routes)
    app.state.admission = Gate(
        limit=settings.in_flight_limit,
        retry_after=settings.shed_retry_after_seconds,
        service=settings.service_name,
    )
    app.user_middleware[:0] = [
        Middleware(AdmissionControl, gate=app.state.admission),
        Middleware(
            RequestContextMiddleware,
            budget_ms=settings.request_budget_ms,
            edge=settings.edge,
            accept_request_id=accept_request_id,
            service=settings.service_name,
        ),
        *middleware,
        Middleware(
            RequestLimits,
            limits=BodyLimits(
                max_bytes=settings.max_body_bytes,
                max_json_depth=settings.max_json_depth,
                media_types=tuple(body_types),
            ),
        ),
        Middleware(ErrorBoundary),
    ]
    return app


def _require_context_outermost(app: FastAPI) -> None:
    """The request context is outermost but for admission control (whose refusals must
    cost nothing: no span, no log line)."""
    stack: list[object] = [item.cls for item in app.user_middleware]
    if stack and stack[0] is AdmissionControl:
        stack.pop(0)
    outermost = stack[0] if stack else None
    if outermost is not RequestContextMiddleware:
        name = getattr(outermost, "__name__", repr(outermost))
        raise RuntimeError(
            f"{name} runs outside the request context (added with app.add_middleware); "
            "pass it to create_app(middleware=[...]) instead"
        )


def _databases(registry: Resources) -> list[Database]:
    """The registry's databases, without importing SQLAlchemy in a service that has none
    (currency, frontend, recommendations): no resource is a Database unless chassis.db was
    imported to make it."""
    if "chassis.db" not in sys.modules:
        return []
    from chassis.db import Database

    return [item for item in registry.items if isinstance(item, Database)]
