"""The catalog on real Postgres and Valkey: migrated by its own release command, then
driven in-process over HTTP.

Seeded products are shared by all tests and left as seeded; a test that writes uses ids
starting with `test-`, removed after it, and every test starts with an empty cache.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from catalog.app import create_catalog_app
from catalog.settings import CatalogSettings
from chassis.testing import ServiceKeys, in_process_client, migrated, run_alembic
from mosaic.backing import BackingServers
from redis.asyncio import Redis

SERVICE_DIR = Path(__file__).resolve().parents[2]


def migrate(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Alembic as the release phase does: from the service folder, URL in the env."""
    return run_alembic(SERVICE_DIR, database_url, *args)


Migrate = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def alembic() -> Migrate:
    """`alembic(database_url, "upgrade", "head")` in a test."""
    return migrate


@dataclass(frozen=True)
class Urls:
    database: str
    redis: str


@pytest.fixture(scope="session")
def urls(backing: BackingServers) -> Urls:
    return Urls(
        migrated(SERVICE_DIR, backing.database_url("catalog")), backing.redis_url("catalog")
    )


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> ServiceKeys:
    """Real signing keys for the callers the catalog's allowlists name."""
    return ServiceKeys(tmp_path_factory.mktemp("keys"), ["frontend", "admin", "stranger"])


def allowed_caller(request: httpx.Request) -> str:
    """The caller the route allows: frontend reads, admin writes."""
    return "frontend" if request.method in ("GET", "HEAD") else "admin"


@pytest.fixture(scope="session")
async def client(urls: Urls, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    settings = CatalogSettings.model_validate(
        {
            "MOSAIC_SERVICE": "catalog",
            "PORT": 1,  # served in-process: the ports are never bound
            "OPS_PORT": 2,
            "DATABASE_URL": urls.database,
            "REDIS_URL": urls.redis,
            # In-process there is no TLS to terminate; every call still carries a token.
            "TRANSPORT_SECURITY": "mesh",
            "SERVICE_TRUST_DIR": str(keys.trust_dir),
        }
    )
    app = create_catalog_app(settings)
    async with in_process_client(app, keys, allowed_caller) as http:
        yield http


@pytest.fixture(scope="session")
async def valkey(urls: Urls) -> AsyncIterator[Redis]:
    """Valkey as the catalog's own ACL user sees it."""
    redis = Redis.from_url(urls.redis)
    yield redis
    await redis.aclose()


@pytest.fixture(scope="session")
async def valkey_admin(backing: BackingServers) -> AsyncIterator[Redis]:
    """Valkey as the operator sees it: only it may list keys (SCAN), a service's user not."""
    redis = Redis.from_url(backing.admin_redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture
async def db(urls: Urls) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection, to change rows behind the service's back."""
    connection = await asyncpg.connect(urls.database)
    yield connection
    await connection.close()


@pytest.fixture(autouse=True)
async def clean_state(urls: Urls, valkey_admin: Redis) -> AsyncIterator[None]:
    await _forget_cache(valkey_admin)
    yield
    connection = await asyncpg.connect(urls.database)
    try:
        await connection.execute("DELETE FROM products WHERE id LIKE 'test-%'")
    finally:
        await connection.close()
    await _forget_cache(valkey_admin)


async def _forget_cache(valkey: Redis) -> None:
    keys = [key async for key in valkey.scan_iter(match="catalog:*", count=1000)]
    if keys:
        await valkey.delete(*keys)


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, object]:
    """The response is problem+json of this status, with a `type` ending in `/kind`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert str(body["type"]).endswith(f"/{kind}"), body
    assert body["status"] == status
    return body


ProblemCheck = Callable[[httpx.Response, int, str], dict[str, object]]


@pytest.fixture
def problem() -> ProblemCheck:
    """`problem(response, 404, "product-not-found")` in a test; returns the body."""
    return assert_problem
