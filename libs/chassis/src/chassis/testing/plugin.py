"""The fixtures every service's tests share, as a pytest plugin (the workspace's root
conftest loads it). A service's conftest says which service it tests, once:

    @pytest.fixture(scope="session")
    def tested_service() -> TestedService:
        return TestedService("shipping", SERVICE_DIR, ("orders", "admin"), "shipments")

and has `keys` (real signing keys for those names), `database_url` (the service's database
on the session's embedded Postgres, migrated by its own release command), `alembic` (its
release command on any URL), `db` (a direct connection, to look at or change rows behind
the service's back), `emptied_tables` (its tables emptied after the test: a conftest makes
it autouse by naming it in an autouse fixture of its own) and `problem` (`assert_problem`).
A conftest's own fixture of the same name wins over the plugin's.
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


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory, tested_service: TestedService) -> ServiceKeys:
    return ServiceKeys(tmp_path_factory.mktemp("keys"), list(tested_service.key_names))


@pytest.fixture(scope="session")
def database_url(backing: Backing, tested_service: TestedService) -> str:
    return migrated(tested_service.folder, backing.database_url(tested_service.name))


@pytest.fixture(scope="session")
def alembic(tested_service: TestedService) -> Migrate:
    """`alembic(database_url, "upgrade", "head")`: the release command, from the service's
    folder with the URL in the env."""
    return functools.partial(run_alembic, tested_service.folder)


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
