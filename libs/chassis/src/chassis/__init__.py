"""The chassis: the thin layer every Mosaic service stands on.

settings (env), logs (structlog JSON), ops probes, graceful server, Postgres, Valkey,
the client for calls between services, problem+json errors, and the app factory.
"""

from chassis.app import create_app
from chassis.cache import Cache
from chassis.client import (
    ClientResource,
    Response,
    ServiceClient,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from chassis.db import Database
from chassis.errors import Problem, ProblemDetails, documented, problem_response
from chassis.events import BrokerSettings, Consumer, Event, Publisher
from chassis.logs import configure_logging, get_logger
from chassis.resources import Resource, Resources, dependency
from chassis.security import Credentials, callers, route_policies
from chassis.server import serve
from chassis.settings import CacheSettings, DatabaseSettings, ServiceSettings, load_settings
from chassis.worker import Worker, serve_worker

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
    "route_policies",
    "serve",
    "serve_worker",
]
