"""A request that needed Postgres while it could not be reached: a 503 problem
(`database-unavailable`, with Retry-After), never a 500.

The service is not broken and the caller did nothing wrong: the database is away (a
restart, a failover, the network). Saying so lets callers and people retry, and keeps
what a cache still serves (catalog's reads from Valkey) apart from what it cannot.
Installed by `create_app` in every app that has a `Database`.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import Response

from chassis.errors import Problem, problem_response
from chassis.logs import get_logger

_log = get_logger("chassis.db")

RETRY_AFTER_SECONDS = 1


def is_outage(error: BaseException) -> bool:
    """Whether `error` says Postgres could not be reached or dropped the connection (and
    not that a statement was wrong)."""
    if isinstance(error, ConnectionError):  # refused, reset, aborted: before any statement
        return True
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError))
    return False


async def _answer(request: Request, error: Exception) -> Response:
    if not is_outage(error):
        raise error  # a real failure: ErrorBoundary logs it and answers 500
    _log.warning("database unavailable", error=type(error).__name__)
    problem = Problem(
        503,
        "database-unavailable",
        "The service's database cannot be reached right now; try again shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    return problem_response(problem, request.url.path)


def install_outage_handler(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, _answer)
    app.add_exception_handler(ConnectionError, _answer)
