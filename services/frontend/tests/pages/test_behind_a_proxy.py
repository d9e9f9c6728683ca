"""Behind a trusted ingress (TRUSTED_PROXIES), accounts is told the shopper's address."""

from typing import Any

import httpx
import pytest

from .test_accounts import PASSWORD
from .test_sessions import csrf_of


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return {"TRUSTED_PROXIES": "127.0.0.0/8"}  # the test client's peer is the "ingress"


async def sign_in_from(shop: httpx.AsyncClient, audit, forwarded_for: str) -> None:
    token = csrf_of(audit, (await shop.get("/sign-in")).text)
    fields = {"csrf_token": token, "email": "ada@example.com", "password": PASSWORD}
    await shop.post("/sign-in", data=fields, headers={"X-Forwarded-For": forwarded_for})


async def test_the_address_the_ingress_saw_is_used(shop: httpx.AsyncClient, accounts, audit):
    await sign_in_from(shop, audit, "203.0.113.7")

    assert accounts.client_addresses == ["203.0.113.7"]


async def test_what_the_client_wrote_itself_is_not(shop: httpx.AsyncClient, accounts, audit):
    await sign_in_from(shop, audit, "6.6.6.6, 203.0.113.7")

    assert accounts.client_addresses == ["203.0.113.7"]
