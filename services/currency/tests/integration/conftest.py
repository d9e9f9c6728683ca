"""The currency service driven in-process over HTTP, with real service tokens.

Stateless and without backing services: the app is built from its settings and the rates it
ships, and every call is signed as the caller its routes allow (frontend).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from chassis.testing import ServiceKeys, in_process_client, in_process_env
from chassis.testing.plugin import TestedService, service_fixtures
from currency.app import create_currency_app
from currency.settings import CurrencySettings


def _tested() -> TestedService:
    """Keys for the caller the allowlists name, and for one they do not."""
    return TestedService("currency", Path(__file__).resolve().parents[2], ("frontend", "stranger"))


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@pytest.fixture(scope="session")
async def client(keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    settings = CurrencySettings.model_validate(in_process_env("currency", keys))
    app = create_currency_app(settings)
    async with in_process_client(app, keys, "frontend") as http:
        yield http
