"""payments on real Postgres, migrated by its own release command, driven in-process over
HTTP with real service tokens, as orders (or admin, or a stranger) calls it.

Every test starts with an empty ledger.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chassis.testing import ServiceKeys, in_process_client, in_process_env
from chassis.testing.plugin import TestedService, service_fixtures
from payments.app import create_payments_app
from payments.settings import PaymentsSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]
PROCESSOR_TIMEOUT = 0.3  # seconds; the setting's default (2) is tested on its own

VISA = "4242 4242 4242 4242"
MASTERCARD = "5555555555554444"
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
PROCESSING_ERROR = "4000000000000119"
TIMES_OUT = "4000-1234-5678-9017"


def _tested() -> TestedService:
    keys = ("payments", "orders", "admin", "cart")
    return TestedService("payments", SERVICE_DIR, keys, "charges, refunds, idempotency_keys")


tested_service, keys, database_url, alembic = service_fixtures(_tested())


def settings_for(database_url: str, keys: ServiceKeys, **extra: Any) -> PaymentsSettings:
    own = {"DATABASE_URL": database_url, "PROCESSOR_TIMEOUT_SECONDS": PROCESSOR_TIMEOUT, **extra}
    env = in_process_env("payments", keys, **own)
    # extra's None: leave the variable unset (its default applies)
    return PaymentsSettings.model_validate({k: v for k, v in env.items() if v is not None})


@pytest.fixture(scope="session")
async def client(database_url: str, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and an HTTP client calling it as orders."""
    app = create_payments_app(settings_for(database_url, keys))
    async with in_process_client(app, keys, "orders", timeout=60) as http:
        yield http


@pytest.fixture(autouse=True)
def empty_ledger(emptied_tables: None) -> None:
    """Every test starts with an empty ledger."""


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


def reference() -> str:
    return f"order:{uuid.uuid4()}"


def charge_body(number: str = VISA, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": {"amount": 4599, "currency": "EUR"},
        "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        "reference": reference(),
        "description": "Mosaic order",
    }
    card = {k.removeprefix("card_"): v for k, v in changes.items() if k.startswith("card_")}
    body["card"].update(card)
    body.update({k: v for k, v in changes.items() if not k.startswith("card_")})
    return body


async def charge(
    client: httpx.AsyncClient, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/charges", json=body, headers={"Idempotency-Key": key or new_key()}
    )


async def charged(client: httpx.AsyncClient, amount: int = 4599) -> dict[str, Any]:
    """A succeeded charge of `amount` EUR."""
    response = await charge(client, charge_body(amount={"amount": amount, "currency": "EUR"}))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def refund(
    client: httpx.AsyncClient, charge_id: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await client.post(
        f"/v1/charges/{charge_id}/refunds",
        json=body,
        headers={"Idempotency-Key": key or new_key()},
    )
