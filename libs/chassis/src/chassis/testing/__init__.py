"""Helpers for tests of services built on the chassis: service keys and tokens, the
release phase (Alembic) on a real database, and the app called in-process over HTTP.

Real keys and real signatures (no fakes): tests of a service run it in-process behind the
`mesh` transport, where TLS is someone else's job but every call still carries a token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from fastapi import FastAPI

from chassis.security import XFCC_HEADER
from chassis.tls import spiffe_id
from chassis.tokens import TOKEN_HEADER, TokenSigner
from chassis.user_tokens import UserTokenSigner

# The metric contract (issue 14): every family the chassis declares on the ops port, and the
# only ones the alerting rules and the dashboard may name. Written once here, not read from
# chassis.metrics, so that a test against it can catch the chassis dropping one.
METRIC_CONTRACT = (
    "mosaic_http_server_requests_total",
    "mosaic_http_server_request_duration_seconds",
    "mosaic_http_client_requests_total",
    "mosaic_http_client_request_duration_seconds",
    "mosaic_http_client_retries_total",
    "mosaic_db_pool_connections",
    "mosaic_db_pool_wait_seconds",
    "mosaic_valkey_pool_connections",
    "mosaic_http_client_pool_connections",
    "mosaic_cache_requests_total",
    "mosaic_outbox_pending_events",
    "mosaic_outbox_oldest_pending_age_seconds",
    "mosaic_stream_consumer_lag_entries",
    "mosaic_stream_pending_entries",
    "mosaic_dead_letters_total",
    "mosaic_job_runs_total",
    "mosaic_job_duration_seconds",
)


class ServiceKeys:
    """Ed25519 keys for some service names: private keys in `folder/<name>.key`, public keys
    in `folder/trust/<name>.pub` (the trust directory a callee is configured with)."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder = folder
        self.trust_dir = folder / "trust"
        self.trust_dir.mkdir(parents=True, exist_ok=True)
        self._signers: dict[str, TokenSigner] = {}
        self._keys: dict[str, Ed25519PrivateKey] = {}
        for name in names:
            key = self._keys[name] = Ed25519PrivateKey.generate()
            self.key_file(name).write_bytes(
                key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            )
            (self.trust_dir / f"{name}.pub").write_bytes(
                key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            )
            self._signers[name] = TokenSigner(name, key)

    def key_file(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def token(self, caller: str, audience: str) -> str:
        return self._signers[caller].token_for(audience)

    def headers(self, caller: str, audience: str) -> dict[str, str]:
        """A caller's proof as a mesh's sidecar delivers it (tests run apps as behind a mesh):
        its token, and the identity of the certificate the sidecar verified."""
        return {
            TOKEN_HEADER: self.token(caller, audience),
            XFCC_HEADER: f"URI={spiffe_id(caller)}",
        }

    def user_tokens(self, lifetime: int = 600) -> UserTokenSigner:
        """Signs users' access tokens as accounts does, with accounts' key (so "accounts"
        must be among the names); services trust it through the trust directory."""
        key = self._keys["accounts"]
        return UserTokenSigner(lambda: key, lifetime=lifetime)


def run_alembic(
    service_dir: Path, database_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run a service's Alembic as its release phase does: from the service folder, in a
    process of its own, with DATABASE_URL in the env (e.g. `"upgrade", "head"`)."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=service_dir,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def migrated(service_dir: Path, database_url: str) -> str:
    """`database_url`, upgraded to head by the service's release command: what a session
    fixture hands to the tests."""
    result = run_alembic(service_dir, database_url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    return database_url


async def assert_migrations_round_trip(
    service_dir: Path, database_url: str, tables: list[str]
) -> None:
    """Upgrade to head (exactly `tables`, besides alembic_version), downgrade to base (no
    table left but alembic_version), upgrade again: a release can be rolled back and redone.
    `database_url` names a database of this test's own."""
    up = run_alembic(service_dir, database_url, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert '"event":"Running upgrade  -> 0001' in up.stdout  # JSON log lines
    public = (
        "SELECT array_agg(tablename ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
    )
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval(public) == sorted([*tables, "alembic_version"])
        down = run_alembic(service_dir, database_url, "downgrade", "base")
        assert down.returncode == 0, down.stderr
        assert await connection.fetchval(public) == ["alembic_version"]
    finally:
        await connection.close()
    again = run_alembic(service_dir, database_url, "upgrade", "head")
    assert again.returncode == 0, again.stderr


Caller = str | Callable[[httpx.Request], str]


@asynccontextmanager
async def in_process_client(
    app: FastAPI, keys: ServiceKeys, caller: Caller, *, timeout: float = 5.0
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and an HTTP client calling it in-process as `caller`
    (a service name, or a function of the request naming one): every request carries a
    fresh service token for the app's service and the mesh's identity header (apps run here
    as behind a mesh), unless the test sent a token of its own."""
    service: str = app.state.settings.service_name

    async def sign(request: httpx.Request) -> None:
        if TOKEN_HEADER not in request.headers:
            name = caller if isinstance(caller, str) else caller(request)
            request.headers.update(keys.headers(name, service))

    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url=f"http://{service}",
            event_hooks={"request": [sign]},
            timeout=timeout,
        ) as http,
    ):
        yield http


def in_process_env(service: str, keys: ServiceKeys, **env: Any) -> dict[str, Any]:
    """The settings of `service` served in-process by a test, plus `env`: its ports never
    bound, no TLS to terminate (every call still carries a token checked against `keys`'
    trust directory), and its own signing key when `keys` made one (it calls others or
    signs users' tokens)."""
    settings: dict[str, Any] = {
        "MOSAIC_SERVICE": service,
        "PORT": 1,
        "OPS_PORT": 2,
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
    }
    if keys.key_file(service).exists():
        settings["SERVICE_SIGNING_KEY_FILE"] = str(keys.key_file(service))
    return {**settings, **env}


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """The response is problem+json of this status, with a `type` ending in `/kind` and no
    traceback; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert str(body["type"]).endswith(f"/{kind}"), body
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body
