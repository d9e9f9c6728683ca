"""The catalog on real Postgres and Valkey: migrated by its own release command, then
driven in-process over HTTP.

Seeded products are shared by all tests and left as seeded; a test that writes uses ids
starting with `test-`, removed after it, and every test starts with an empty cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from catalog.app import create_catalog_app
from catalog.settings import CatalogSettings
from chassis.testing import ServiceKeys, in_process_client, in_process_env
from chassis.testing.plugin import TestedService, service_fixtures
from mosaic.backing import BackingServers
from redis.asyncio import Redis

SERVICE_DIR = Path(__file__).resolve().parents[2]


def _tested() -> TestedService:
    """Keys for the callers the catalog's allowlists name, and one they do not."""
    return TestedService("catalog", SERVICE_DIR, ("frontend", "admin", "stranger"))


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@dataclass(frozen=True)
class Urls:
    database: str
    redis: str


@pytest.fixture(scope="session")
def urls(database_url: str, backing: BackingServers) -> Urls:
    return Urls(database_url, backing.redis_url("catalog"))


def allowed_caller(request: httpx.Request) -> str:
    """The caller the route allows: frontend reads, admin writes."""
    return "frontend" if request.method in ("GET", "HEAD") else "admin"


@pytest.fixture(scope="session")
async def client(urls: Urls, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    env = in_process_env("catalog", keys, DATABASE_URL=urls.database, REDIS_URL=urls.redis)
    settings = CatalogSettings.model_validate(env)
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
