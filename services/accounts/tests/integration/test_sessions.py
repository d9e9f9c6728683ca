"""Sessions: refreshed while on, checked fast, and ended for every device at once."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx
import pytest
from chassis.testing import ServiceKeys
from chassis.user_tokens import UserTokenSigner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from redis.asyncio import Redis


def signing_key(keys: ServiceKeys, name: str) -> Ed25519PrivateKey:
    key = load_pem_private_key(keys.key_file(name).read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


async def refresh(client: httpx.AsyncClient, session_token: str) -> httpx.Response:
    return await client.post("/v1/sessions/refresh", json={"session_token": session_token})


async def test_the_current_session_is_the_tokens(shopper: Any) -> None:
    ada = await shopper()
    response = await ada.call("GET", "/v1/sessions/current")
    assert response.status_code == 200
    assert response.json() == {
        "id": ada.signed_in["session"]["id"],
        "user_id": ada.user_id,
        "expires_at": ada.signed_in["session"]["expires_at"],
    }


async def test_a_session_token_buys_new_access_tokens(shopper: Any) -> None:
    ada = await shopper()
    response = await refresh(ada.http, ada.session_token)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == ada.user_id
    assert body["session"]["id"] == ada.signed_in["session"]["id"]
    assert "token" not in body["session"]  # the session token is given once, at sign-in
    fresh = body["access_token"]["token"]
    assert fresh != ada.access_token
    me = await ada.http.get("/v1/users/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200


@pytest.mark.parametrize("token", ["", "x" * 201])
async def test_a_malformed_refresh_is_refused(
    client: httpx.AsyncClient, token: str, problem: Any
) -> None:
    problem(await refresh(client, token), 422, "invalid-request")


async def test_an_unknown_session_token_is_refused(client: httpx.AsyncClient, problem: Any) -> None:
    problem(await refresh(client, "no-such-session-token"), 401, "session-ended")


async def test_signing_out_ends_every_session_of_the_user(shopper: Any, problem: Any) -> None:
    ada = await shopper()
    laptop = dict(ada.signed_in)
    phone = (await ada.sign_in()).json()
    bob = await shopper()

    assert (await ada.call("DELETE", "/v1/sessions/current")).status_code == 204

    for device in (laptop, phone):
        bearer = {"Authorization": f"Bearer {device['access_token']['token']}"}
        current = await ada.http.get("/v1/sessions/current", headers=bearer)
        problem(current, 401, "session-ended")
        assert "invalid_token" in current.headers["WWW-Authenticate"]
        problem(await ada.http.get("/v1/users/me", headers=bearer), 401, "session-ended")
        problem(await refresh(ada.http, device["session"]["token"]), 401, "session-ended")
    # Someone else's session is untouched.
    assert (await bob.call("GET", "/v1/sessions/current")).status_code == 200
    # Signing in again works, with a new session.
    again = await ada.sign_in()
    assert again.status_code == 201
    assert again.json()["session"]["id"] not in (laptop["session"]["id"], phone["session"]["id"])


async def test_sign_out_reaches_replicas_that_cached_the_session(
    shopper: Any, valkey: Redis, problem: Any
) -> None:
    """The cache entry that vouched for the session goes with it."""
    ada = await shopper()
    assert (await ada.call("GET", "/v1/sessions/current")).status_code == 200
    key = f"accounts:session:{ada.signed_in['session']['id']}"
    assert await valkey.exists(key)
    assert (await ada.call("DELETE", "/v1/sessions/current")).status_code == 204
    assert not await valkey.exists(key)
    problem(await ada.call("GET", "/v1/sessions/current"), 401, "session-ended")


async def test_changing_the_password_ends_every_other_session(
    shopper: Any, password: str, problem: Any
) -> None:
    ada = await shopper()
    phone = (await ada.sign_in()).json()
    change = {"current_password": password, "new_password": "quince-harbor-lantern-9"}
    response = await ada.call("POST", "/v1/users/me/password", json=change)
    assert response.status_code == 200
    fresh = response.json()
    # The device that changed it carries on with the new session it was given ...
    bearer = {"Authorization": f"Bearer {fresh['access_token']['token']}"}
    assert (await ada.http.get("/v1/users/me", headers=bearer)).status_code == 200
    assert (await refresh(ada.http, fresh["session"]["token"])).status_code == 200
    # ... every session from before has ended, this device's old one included.
    for device in (ada.signed_in, phone):
        old = {"Authorization": f"Bearer {device['access_token']['token']}"}
        problem(await ada.http.get("/v1/sessions/current", headers=old), 401, "session-ended")
        problem(await refresh(ada.http, device["session"]["token"]), 401, "session-ended")
    # The old password no longer signs in; the new one does.
    assert (await ada.sign_in()).status_code == 401
    assert (await ada.sign_in("quince-harbor-lantern-9")).status_code == 201


async def test_an_expired_access_token_is_refused_as_expired(
    shopper: Any, keys: ServiceKeys, problem: Any
) -> None:
    ada = await shopper()
    key = signing_key(keys, "accounts")
    ten_minutes_ago = UserTokenSigner(lambda: key, lifetime=600, clock=lambda: time.time() - 610)
    token, _ = ten_minutes_ago.issue(ada.user_id, ada.signed_in["session"]["id"])
    response = await ada.http.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    problem(response, 401, "access-token-expired")
    assert 'error_description="expired"' in response.headers["WWW-Authenticate"]
    # The session itself is fine: a refresh gets a working token.
    assert (await refresh(ada.http, ada.session_token)).status_code == 200


async def test_an_idle_session_ends(shopper: Any, db: asyncpg.Connection, problem: Any) -> None:
    ada = await shopper()
    await db.execute("UPDATE sessions SET last_seen_at = now() - interval '8 days'")
    problem(await refresh(ada.http, ada.session_token), 401, "session-ended")


async def test_a_session_past_its_lifetime_ends(
    shopper: Any, db: asyncpg.Connection, valkey: Redis, problem: Any
) -> None:
    ada = await shopper()
    await db.execute(
        "UPDATE sessions SET created_at = now() - interval '31 days',"
        " expires_at = now() - interval '1 day'"
    )
    await valkey.delete(f"accounts:session:{ada.signed_in['session']['id']}")
    problem(await ada.call("GET", "/v1/sessions/current"), 401, "session-ended")
    problem(await refresh(ada.http, ada.session_token), 401, "session-ended")


async def test_a_token_for_someone_elses_session_is_refused(
    shopper: Any, keys: ServiceKeys, problem: Any
) -> None:
    """Even signed by accounts, a token pairing Ada with Bob's session proves nothing."""
    ada, bob = await shopper(), await shopper()
    key = signing_key(keys, "accounts")
    token, _ = UserTokenSigner(lambda: key, lifetime=600).issue(
        ada.user_id, bob.signed_in["session"]["id"]
    )
    response = await ada.http.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    problem(response, 401, "session-ended")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer garbage", "Basic YWRhOnB3", "Bearer a.b.c"],
)
async def test_requests_without_a_valid_access_token_are_refused(
    client: httpx.AsyncClient, authorization: str | None, problem: Any
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [
        ("GET", "/v1/sessions/current"),
        ("DELETE", "/v1/sessions/current"),
        ("GET", "/v1/users/me"),
        ("GET", "/v1/users/me/addresses"),
    ]:
        response = await client.request(method, path, headers=headers)
        problem(response, 401, "access-token-invalid")
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")


async def test_forged_and_foreign_tokens_are_refused(
    shopper: Any, keys: ServiceKeys, problem: Any
) -> None:
    ada = await shopper()
    session = ada.signed_in["session"]["id"]
    other = signing_key(keys, "frontend")
    forged, _ = UserTokenSigner(lambda: other, lifetime=600).issue(ada.user_id, session)
    service_token = keys.token("frontend", "accounts")
    for token in (forged, service_token):
        response = await ada.http.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        problem(response, 401, "access-token-invalid")
