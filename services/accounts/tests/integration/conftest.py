"""accounts on real Postgres and Valkey: migrated by its own release command, then driven
in-process over HTTP with real service tokens, as the frontend calls it.

Every test starts with no users and no limits counted. Password hashing is made cheap
through the settings (`ACCOUNTS_ARGON2_*`), the way an operator would tune it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from accounts.app import create_accounts_app
from accounts.handlers import Rules
from accounts.settings import AccountsSettings
from chassis.testing import ServiceKeys, in_process_client, in_process_env
from chassis.testing.plugin import TestedService, service_fixtures
from fastapi import FastAPI
from mosaic.backing import BackingServers
from redis.asyncio import Redis

SERVICE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "plum-kettle-orbit-42"  # passes the policy
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 8
REGISTRATION_LIMIT = 6


def _tested() -> TestedService:
    """Keys: accounts' own (it signs user tokens) and its callers'."""
    keys = ("accounts", "frontend", "stranger")
    tables = "users, sessions, addresses, verifications, outbox"
    return TestedService("accounts", SERVICE_DIR, keys, tables)


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@dataclass(frozen=True)
class Urls:
    database: str
    redis: str


@pytest.fixture(scope="session")
def urls(database_url: str, backing: BackingServers) -> Urls:
    return Urls(database_url, backing.redis_url("accounts"))


def settings_for(urls: Urls, keys: ServiceKeys, **overrides: Any) -> AccountsSettings:
    env = in_process_env(
        "accounts",
        keys,
        **{
            "DATABASE_URL": urls.database,
            "REDIS_URL": urls.redis,
            # Cheap hashing for tests; production keeps the defaults.
            "ACCOUNTS_ARGON2_TIME_COST": 1,
            "ACCOUNTS_ARGON2_MEMORY_KIB": 64,
            "ACCOUNTS_SIGNIN_LIMIT_PER_ACCOUNT": ACCOUNT_LIMIT,
            "ACCOUNTS_SIGNIN_LIMIT_PER_ADDRESS": ADDRESS_LIMIT,
            "ACCOUNTS_SIGNIN_WINDOW_SECONDS": 60,
            "ACCOUNTS_REGISTRATION_LIMIT_PER_ADDRESS": REGISTRATION_LIMIT,
            **overrides,
        },
    )
    return AccountsSettings.model_validate(env)


@pytest.fixture(scope="session")
def app(urls: Urls, keys: ServiceKeys) -> FastAPI:
    return create_accounts_app(settings_for(urls, keys))


@pytest.fixture(scope="session")
async def client(app: FastAPI, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(app, keys, "frontend") as http:
        yield http


@pytest.fixture(scope="session")
async def valkey(urls: Urls) -> AsyncIterator[Redis]:
    """Valkey as accounts' own ACL user sees it."""
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
async def clean_state(emptied_tables: None, valkey_admin: Redis) -> AsyncIterator[None]:
    """Every test starts with no users and no limits counted."""
    yield
    await forget_valkey(valkey_admin)


async def forget_valkey(valkey: Redis) -> None:
    keys = [key async for key in valkey.scan_iter(match="accounts:*", count=1000)]
    if keys:
        await valkey.delete(*keys)


def fresh_client_address() -> str:
    """A fresh documentation-style address, so no two tests share a limit."""
    number = uuid.uuid4().int
    return f"198.{18 + number % 2}.{number // 2 % 256}.{number // 512 % 256}"


def fresh_email() -> str:
    return f"shopper-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def password() -> str:
    """A password the policy accepts; what `register` and `shopper` use by default."""
    return PASSWORD


@pytest.fixture
def rules(app: FastAPI) -> Rules:
    """The limits and lifetimes the app under test runs with."""
    rules: Rules = app.state.rules
    return rules


@pytest.fixture
def email() -> str:
    """An address no one has registered."""
    return fresh_email()


@pytest.fixture
def client_address() -> str:
    """A browser address no limit has counted yet."""
    return fresh_client_address()


Register = Callable[..., Awaitable[httpx.Response]]


async def outbox(urls: Urls, kind: str | None = None) -> list[dict[str, Any]]:
    """The envelopes waiting in the outbox (no relay runs here), oldest first."""
    connection = await asyncpg.connect(urls.database)
    try:
        rows = await connection.fetch("SELECT payload FROM outbox ORDER BY seq")
    finally:
        await connection.close()
    envelopes = [json.loads(row["payload"]) for row in rows]
    return [e for e in envelopes if kind is None or e["type"] == kind]


async def link_token(urls: Urls, email: str) -> str:
    """The token of the newest verification link mailed (to be mailed) to `email`."""
    links = [
        e["data"]["verify_url"]
        for e in await outbox(urls)
        if "verify_url" in e["data"] and e["data"]["email"] == email
    ]
    assert links, f"no verification link for {email} in the outbox"
    return str(links[-1]).rsplit("/", 1)[-1]


async def confirm(
    client: httpx.AsyncClient, token: str, password: str = PASSWORD, address: str | None = None
) -> httpx.Response:
    """POST /v1/verifications: use a link with the password chosen at its sign-up."""
    return await client.post(
        "/v1/verifications",
        json={"token": token, "password": password},
        headers={"x-client-address": address or fresh_client_address()},
    )


@pytest.fixture
def register(client: httpx.AsyncClient, urls: Urls) -> Register:
    """`await register(email, password=..., given=..., family=..., address=..., verify=True)`:
    POST
    /v1/users, then (unless `verify=False`) use the link its event carries, as the owner of
    the address would. The answer is the registration's."""

    async def send(
        email: str,
        password: str = PASSWORD,
        *,
        given: str = "Ada",
        family: str | None = "Lovelace",
        address: str | None = None,
        verify: bool = True,
    ) -> httpx.Response:
        names = {"given_name": given} | ({"family_name": family} if family else {})
        response = await client.post(
            "/v1/users",
            json={"email": email, "password": password, **names},
            headers={"x-client-address": address or fresh_client_address()},
        )
        if verify and response.status_code == 202:
            token = await link_token(urls, response.json()["email"])
            verified = await confirm(client, token, password)
            assert verified.status_code == 201, verified.text
        return response

    return send


@dataclass
class Shopper:
    """A registered, signed-in user, as the frontend holds them."""

    http: httpx.AsyncClient
    email: str
    password: str
    address: str
    signed_in: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return str(self.signed_in["user"]["id"])

    @property
    def access_token(self) -> str:
        return str(self.signed_in["access_token"]["token"])

    @property
    def session_token(self) -> str:
        return str(self.signed_in["session"]["token"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def sign_in(self, password: str | None = None) -> httpx.Response:
        return await self.http.post(
            "/v1/sessions",
            json={"email": self.email, "password": password or self.password},
            headers={"x-client-address": self.address},
        )

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request with this shopper's access token."""
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)


ShopperFactory = Callable[..., Awaitable[Shopper]]


@pytest.fixture
def shopper(client: httpx.AsyncClient, register: Register) -> ShopperFactory:
    """`await shopper()`: a new user, registered and signed in."""

    async def make(email: str | None = None, password: str = PASSWORD) -> Shopper:
        person = Shopper(client, email or fresh_email(), password, fresh_client_address())
        registered = await register(person.email, password, address=person.address)
        assert registered.status_code == 202, registered.text
        response = await person.sign_in()
        assert response.status_code == 201, response.text
        person.signed_in = response.json()
        return person

    return make
