"""orders on real Postgres, migrated by its own release command, driven in-process over
HTTP as the frontend calls it (driving.py), with a stand-in for each of its five callees
(tests/stand_ins/): small aiohttp servers on real sockets that, like the real services,
refuse a call without a service token, keep payments' and shipping's idempotency by key,
and can be told to fail. After each test, every answer a stand-in gave is checked against
its callee's committed openapi.json.

Every test starts with no orders. `keys`, `database_url`, `db` and `problem` are the
chassis's testing plugin's.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from chassis import Database
from chassis.testing import ServiceKeys
from chassis.testing.plugin import TestedService, service_fixtures
from chassis.user_tokens import UserTokenSigner

from services.orders.tests.stand_ins import StandIns

from .driving import SERVICE_DIR, Shopper, orders_client


def _tested() -> TestedService:
    names = ("orders", "frontend", "stranger", "accounts", "admin")
    return TestedService("orders", SERVICE_DIR, names, "orders, outbox")


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@pytest.fixture(scope="session")
async def stand_ins() -> AsyncIterator[StandIns]:
    fakes = StandIns()
    await fakes.start()
    yield fakes
    await fakes.stop()


@pytest.fixture(autouse=True)
async def clean(stand_ins: StandIns, emptied_tables: None) -> AsyncIterator[None]:
    """Fresh stand-ins and, after the test, no orders; the stand-ins' answers checked."""
    stand_ins.reset()
    yield
    drift = stand_ins.drift()
    assert not drift, "\n".join(drift)


@pytest.fixture(scope="session")
async def client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    async with orders_client(database_url, stand_ins, keys) as http:
        yield http


@pytest.fixture
async def impatient_client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    """An orders whose sagas give a callee that is down one second only."""
    async with orders_client(
        database_url, stand_ins, keys, SAGA_SECONDS=1, LEASE_SECONDS=10
    ) as http:
        yield http


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """orders' own pool, for the outbox and relay under test."""
    db = Database(database_url, pool_size=2)
    await db.open()
    yield db
    await db.close()


@pytest.fixture(scope="session")
def user_tokens(keys: ServiceKeys) -> UserTokenSigner:
    return keys.user_tokens()


@pytest.fixture
def visitor() -> Callable[[], Shopper]:
    return lambda: Shopper({"x-visitor-id": secrets.token_urlsafe(16)})


@pytest.fixture
def user(user_tokens: UserTokenSigner) -> Callable[..., Shopper]:
    def make(user_id: str | None = None) -> Shopper:
        token, _ = user_tokens.issue(user_id or secrets.token_hex(16), secrets.token_hex(8))
        return Shopper({"Authorization": f"Bearer {token}"})

    return make
