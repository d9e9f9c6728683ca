"""The fixtures every service's tests share. A service's conftest says which service it
tests, once:

    tested_service, keys, database_url, alembic = service_fixtures(
        TestedService("shipping", SERVICE_DIR, ("orders", "admin"), "shipments")
    )

and has `keys` (real signing keys for those names), `database_url` (the service's database
on the session's embedded Postgres, migrated by its own release command) and `alembic` (its
release command on any URL). From the plugin (the workspace's root conftest loads it), for
every test folder: `db` (a direct connection, to look at or change rows behind the service's
back), `emptied_tables` (its tables emptied after the test: a conftest makes it autouse by
naming it in an autouse fixture of its own), `problem` (`assert_problem`) and, for every
test, `fresh_call_guards` (retry budgets and circuit breakers as a new process has them).

Why the session-wide ones are made per conftest rather than defined once here: pytest
keeps one value of a session fixture for the whole session, so a plugin's `keys` asked for
by cart's tests after accounts' would be accounts' keys (one test session runs every
service's tests). A fixture defined in a conftest is that folder's own, and so is its value.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import pytest

from chassis.breaker import reset_breakers
from chassis.retry_budget import reset_budgets
from chassis.testing import ServiceKeys, assert_problem, migrated, run_alembic


@dataclass(frozen=True)
class TestedService:
    """The service a test folder tests: its name, its folder (where its Alembic runs), the
    names to make signing keys for (its callers, and itself when it signs), and the tables
    emptied after each test (`"carts CASCADE"`)."""

    __test__ = False  # not a test class, despite its name

    name: str
    folder: Path
    key_names: tuple[str, ...] = ()
    tables: str = ""


class Backing(Protocol):
    """The session's backing servers (the root conftest's `backing` fixture)."""

    def database_url(self, service: str) -> str: ...


Migrate = Callable[..., subprocess.CompletedProcess[str]]
ProblemCheck = Callable[[httpx.Response, int, str], dict[str, Any]]


def service_fixtures(service: TestedService) -> tuple[Any, Any, Any, Any]:
    """`tested_service`, `keys`, `database_url` and `alembic` for one service's test folder:
    assign them in its conftest under those names (see the module's docstring)."""

    @pytest.fixture(scope="session", name="tested_service")
    def tested() -> TestedService:
        return service

    @pytest.fixture(scope="session", name="keys")
    def keys(tmp_path_factory: pytest.TempPathFactory) -> ServiceKeys:
        return ServiceKeys(tmp_path_factory.mktemp("keys"), list(service.key_names))

    @pytest.fixture(scope="session", name="database_url")
    def database_url(backing: Backing) -> str:
        return migrated(service.folder, backing.database_url(service.name))

    @pytest.fixture(scope="session", name="alembic")
    def alembic() -> Migrate:
        """`alembic(database_url, "upgrade", "head")`: the release command, from the
        service's folder with the URL in the env."""
        return functools.partial(run_alembic, service.folder)

    return tested, keys, database_url, alembic


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def emptied_tables(database_url: str, tested_service: TestedService) -> AsyncIterator[None]:
    yield
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"TRUNCATE {tested_service.tables}")
    finally:
        await connection.close()


@pytest.fixture
def problem() -> ProblemCheck:
    """`problem(response, 404, "product-not-found")` in a test; returns the body."""
    return assert_problem


@pytest.fixture(autouse=True)
def fresh_call_guards() -> None:
    """Every test starts with no retries spent and every breaker closed: in a test session
    one process runs every test, and a budget spent or a breaker opened by one test's dead
    callee would change what the next one sees (in a service's process they are its own)."""
    reset_budgets()
    reset_breakers()
