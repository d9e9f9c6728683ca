"""How the integration tests drive orders: its settings, the app in process as the frontend
calls it, its recovery job as the runner starts it, and a shopper's checkout."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from chassis.breaker import reset_breakers
from chassis.testing import ServiceKeys, assert_problem, in_process_client
from orders.app import create_orders_app
from orders.settings import JobSettings, OrdersSettings

from services.orders.tests.stand_ins import StandIns
from services.orders.tests.stand_ins.payments import DECLINED_NUMBER
from services.orders.tests.stand_ins.shipping import REFUSED_POSTAL_CODE

__all__ = ["REFUSED_POSTAL_CODE", "assert_problem"]  # the tests' too, from here

SERVICE_DIR = Path(__file__).resolve().parents[2]
GOOD_CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "number": DECLINED_NUMBER}


def settings_env(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys, **extra: Any
) -> dict[str, Any]:
    return {
        "MOSAIC_SERVICE": "orders",
        "PORT": 1,
        "OPS_PORT": 2,
        "DATABASE_URL": database_url,
        **stand_ins.urls(),
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
        "SERVICE_SIGNING_KEY_FILE": str(keys.key_file("orders")),
        # Generous: on a loaded 2-core machine a call may be slow, and a saga that runs out
        # of time before payment cancels (503) rather than waiting.
        "SAGA_SECONDS": 15,
        "LEASE_SECONDS": 30,
        **extra,
    }


def orders_client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys, **env: Any
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """orders in process, as the frontend calls it, with some settings changed."""
    settings = OrdersSettings.model_validate(settings_env(database_url, stand_ins, keys, **env))
    return in_process_client(create_orders_app(settings), keys, "frontend", timeout=60)


def run_recover(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys, **env: Any
) -> subprocess.CompletedProcess[str]:
    """One pass of `python -m orders.jobs recover` as the runner starts it: its own process,
    the service's environment (with some settings changed), no ports."""
    job_env = {k: str(v) for k, v in settings_env(database_url, stand_ins, keys, **env).items()}
    job_env.pop("PORT"), job_env.pop("OPS_PORT")
    return subprocess.run(
        [sys.executable, "-m", "orders.jobs", "recover"],
        cwd=SERVICE_DIR,
        env={**os.environ, **job_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def job_settings(database_url: str, stand_ins: StandIns, keys: ServiceKeys) -> JobSettings:
    env = settings_env(database_url, stand_ins, keys)
    env.pop("PORT"), env.pop("OPS_PORT")  # a job has no ports of its own
    return JobSettings.model_validate(env)


@dataclass(frozen=True)
class Shopper:
    headers: dict[str, str]

    @property
    def owner_key(self) -> str:
        return self.headers.get("Authorization") or self.headers["x-visitor-id"]


def checkout_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "email": "ada@example.com",
        "currency": "EUR",
        "shipping_option": "standard",
        "address": {
            "name": "Ada Lovelace",
            "line1": "Unter den Linden 1",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
        },
        "card": GOOD_CARD,
    }
    form.update(changes)
    return form


async def place(
    client: httpx.AsyncClient, shopper: Shopper, key: str | None = None, **changes: Any
) -> httpx.Response:
    return await client.post(
        "/v1/orders",
        json=checkout_form(**changes),
        headers={**shopper.headers, "Idempotency-Key": key or secrets.token_urlsafe(16)},
    )


async def stuck_at_charging(
    client: httpx.AsyncClient, stand_ins: StandIns, shopper: Shopper, db: asyncpg.Connection
) -> dict[str, Any]:
    """A checkout whose payments call never got through, its lease run out: left at
    charging for the recovery."""
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    stand_ins.payments.down = 10_000
    response = await place(client, shopper)
    stand_ins.payments.down = 0
    # Each stuck order stands for a checkout of its own moment: the breaker its failures
    # opened would refuse the next checkout before its charge (that is test_saga's case).
    reset_breakers()
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "processing"
    await db.execute("UPDATE orders SET lease_until = now() - interval '1 second'")
    return body


async def held_at_charge(
    client: httpx.AsyncClient, stand_ins: StandIns, shopper: Shopper
) -> asyncio.Task[httpx.Response]:
    """A live checkout whose charge has reached payments and waits there until the test
    sets `stand_ins.payments.charge_gate`; the checkout's answer is the task's result."""
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    stand_ins.payments.charge_gate = asyncio.Event()
    checkout = asyncio.create_task(place(client, shopper))
    await asyncio.wait_for(stand_ins.payments.charge_arrived.wait(), 60)
    return checkout
