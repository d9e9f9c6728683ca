"""The chassis: the thin layer every Mosaic service stands on.

settings (env), logs (structlog JSON), ops probes, graceful server, Postgres, Valkey,
the client for calls between services, problem+json errors, and the app factory.

Names are imported on first use (PEP 562), so code that needs one part -- a release's
`alembic upgrade`, which needs the migrations and settings only -- does not pay for FastAPI,
aiohttp, uvicorn and redis-py at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chassis.app import create_app
    from chassis.cache import Cache
    from chassis.client import ClientResource, ServiceClient
    from chassis.client_errors import UpstreamStatusError, UpstreamTimeout, UpstreamUnavailable
    from chassis.client_response import Response, problem_type
    from chassis.db import Database
    from chassis.errors import Problem, ProblemDetails, documented, problem_response
    from chassis.events import BrokerSettings, Consumer, Event, Publisher
    from chassis.logs import configure_logging, get_logger
    from chassis.resources import Resource, Resources, dependency
    from chassis.security import Credentials, callers, route_policies
    from chassis.server import serve
    from chassis.settings import CacheSettings, DatabaseSettings, ServiceSettings, load_settings
    from chassis.worker import Worker, serve_worker

_WHERE = {
    "BrokerSettings": "chassis.events",
    "Cache": "chassis.cache",
    "CacheSettings": "chassis.settings",
    "ClientResource": "chassis.client",
    "Consumer": "chassis.events",
    "Credentials": "chassis.security",
    "Database": "chassis.db",
    "DatabaseSettings": "chassis.settings",
    "Event": "chassis.events",
    "Problem": "chassis.errors",
    "ProblemDetails": "chassis.errors",
    "Publisher": "chassis.events",
    "Resource": "chassis.resources",
    "Resources": "chassis.resources",
    "Response": "chassis.client_response",
    "ServiceClient": "chassis.client",
    "ServiceSettings": "chassis.settings",
    "UpstreamStatusError": "chassis.client_errors",
    "UpstreamTimeout": "chassis.client_errors",
    "UpstreamUnavailable": "chassis.client_errors",
    "Worker": "chassis.worker",
    "callers": "chassis.security",
    "configure_logging": "chassis.logs",
    "create_app": "chassis.app",
    "dependency": "chassis.resources",
    "documented": "chassis.errors",
    "get_logger": "chassis.logs",
    "load_settings": "chassis.settings",
    "problem_response": "chassis.errors",
    "problem_type": "chassis.client_response",
    "route_policies": "chassis.security",
    "serve": "chassis.server",
    "serve_worker": "chassis.worker",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'chassis' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


__all__ = [
    "BrokerSettings",
    "Cache",
    "CacheSettings",
    "ClientResource",
    "Consumer",
    "Credentials",
    "Database",
    "DatabaseSettings",
    "Event",
    "Problem",
    "ProblemDetails",
    "Publisher",
    "Resource",
    "Resources",
    "Response",
    "ServiceClient",
    "ServiceSettings",
    "UpstreamStatusError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "Worker",
    "callers",
    "configure_logging",
    "create_app",
    "dependency",
    "documented",
    "get_logger",
    "load_settings",
    "problem_response",
    "problem_type",
    "route_policies",
    "serve",
    "serve_worker",
]
