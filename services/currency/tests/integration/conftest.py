"""The currency service driven in-process over HTTP, with real service tokens.

Stateless and without backing services: the app is built from its settings and the rates it
ships, and every call is signed as the caller its routes allow (frontend).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from chassis.testing import ServiceKeys, in_process_client
from currency.app import create_currency_app
from currency.settings import CurrencySettings


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> ServiceKeys:
    """Real signing keys for the caller the allowlists name, and for one they do not."""
    return ServiceKeys(tmp_path_factory.mktemp("keys"), ["frontend", "stranger"])


@pytest.fixture(scope="session")
async def client(keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    settings = CurrencySettings.model_validate(
        {
            "MOSAIC_SERVICE": "currency",
            "PORT": 1,  # served in-process: the ports are never bound
            "OPS_PORT": 2,
            # In-process there is no TLS to terminate; every call still carries a token.
            "TRANSPORT_SECURITY": "mesh",
            "SERVICE_TRUST_DIR": str(keys.trust_dir),
        }
    )
    app = create_currency_app(settings)
    async with in_process_client(app, keys, "frontend") as http:
        yield http


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """The response is problem+json of this status, with a `type` ending in `/kind`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert str(body["type"]).endswith(f"/{kind}"), body
    assert body["status"] == status
    return body


ProblemCheck = Callable[[httpx.Response, int, str], dict[str, Any]]


@pytest.fixture
def problem() -> ProblemCheck:
    """`problem(response, 422, "unsupported-currency")` in a test; returns the body."""
    return assert_problem
