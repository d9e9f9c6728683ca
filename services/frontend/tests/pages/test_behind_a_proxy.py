"""Behind a trusted ingress (TRUSTED_PROXIES): accounts is told the shopper's address, the
scheme the ingress saw decides the session cookie, and the ingress's request id is kept."""

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


async def test_over_tls_at_the_ingress_the_cookies_are_secure_with_the_host_prefix(
    shop: httpx.AsyncClient, audit
):
    response = await shop.get("/", headers={"X-Forwarded-Proto": "https"})

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-csrf=")
    assert "; Secure" in cookie and "Domain" not in cookie and "Path=/" in cookie
    token = csrf_of(audit, response.text)
    # Sent by hand: the test client talks plain http, so it keeps a Secure cookie to itself.
    sent = cookie.split(";")[0]

    # The first change stores a session: its cookie is made the same way.
    response = await shop.post(
        "/currency",
        data={"csrf_token": token, "currency": "EUR"},
        headers={"X-Forwarded-Proto": "https", "cookie": sent},
    )

    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-session=")
    assert "; Secure" in cookie and "Domain" not in cookie and "Path=/" in cookie


async def test_the_nearest_proxy_s_scheme_counts(shop: httpx.AsyncClient):
    response = await shop.get("/", headers={"X-Forwarded-Proto": "https, http"})

    assert response.headers["set-cookie"].startswith("csrf=")


async def test_the_ingress_s_request_id_is_kept(shop: httpx.AsyncClient):
    response = await shop.get("/", headers={"x-request-id": "ingress-5f2c"})

    assert response.headers["x-request-id"] == "ingress-5f2c"
