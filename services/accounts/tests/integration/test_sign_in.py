"""Signing in: sessions and tokens, limits against guessing, and nothing to enumerate."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from accounts.handlers import Rules
from argon2 import PasswordHasher
from fastapi import FastAPI

from .conftest import fresh_client_address


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str, address: str
) -> httpx.Response:
    return await client.post(
        "/v1/sessions",
        json={"email": email, "password": password},
        headers={"x-client-address": address},
    )


async def test_signing_in_opens_a_session_with_an_access_token(
    register: Any, email: str, password: str, client: httpx.AsyncClient, client_address: str
) -> None:
    await register(email)
    response = await sign_in(client, f"  {email.upper()} ", password, client_address)
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == email
    assert body["user"]["display_name"] == "Ada Lovelace"
    session, access = body["session"], body["access_token"]
    assert session["user_id"] == body["user"]["id"]
    assert len(session["token"]) >= 43  # 256 random bits
    assert access["token_type"] == "Bearer"
    claims = jwt.decode(access["token"], options={"verify_signature": False})
    assert claims["sub"] == body["user"]["id"]
    assert claims["sid"] == session["id"]
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["iat"] - time.time()) < 10


async def test_the_session_token_is_stored_only_as_a_hash(
    shopper: Any, db: asyncpg.Connection
) -> None:
    ada = await shopper()
    stored = await db.fetchval("SELECT token_hash FROM sessions")
    assert len(stored) == 32
    assert ada.session_token.encode() not in stored


async def test_unknown_address_and_wrong_password_get_the_same_answer(
    register: Any, email: str, password: str, client: httpx.AsyncClient, client_address: str
) -> None:
    await register(email)
    wrong = await sign_in(client, email, password + "x", client_address)
    unknown = await sign_in(client, "nobody@example.com", password, client_address)
    malformed = await sign_in(client, "not an address", password, client_address)
    answers = [wrong, unknown, malformed]
    assert {r.status_code for r in answers} == {401}
    assert len({_without_request_id(r) for r in answers}) == 1
    assert wrong.json()["type"].endswith("/invalid-credentials")


def _without_request_id(response: httpx.Response) -> tuple[Any, ...]:
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id",)}
    return tuple(sorted(body.items())), tuple(sorted(headers.items()))


async def test_an_unknown_address_costs_a_password_verification_too(
    app: FastAPI,
    register: Any,
    email: str,
    password: str,
    client: httpx.AsyncClient,
    client_address: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await register(email)
    verified: list[str | None] = []
    passwords = app.state.passwords
    real = passwords.verify

    async def counting(stored: str | None, typed: str) -> bool:
        verified.append(stored)
        result: bool = await real(stored, typed)
        return result

    monkeypatch.setattr(passwords, "verify", counting)
    await sign_in(client, "nobody@example.com", password, client_address)
    await sign_in(client, email, password + "x", client_address)
    assert len(verified) == 2
    assert verified[0] is None  # hashed against the dummy hash, same parameters
    assert verified[1] is not None


async def test_guessing_one_account_from_one_client_is_stopped(
    register: Any,
    email: str,
    password: str,
    client: httpx.AsyncClient,
    client_address: str,
    rules: Rules,
    problem: Any,
) -> None:
    await register(email)
    limit = rules.signin_per_account
    for n in range(limit.attempts):
        wrong = await sign_in(client, email, f"guess-{n}", client_address)
        assert wrong.status_code == 401
    refused = await sign_in(client, email, "guess-again", client_address)
    body = problem(refused, 429, "too-many-attempts")
    assert 1 <= int(refused.headers["Retry-After"]) <= limit.window_seconds
    assert body["retry_after"] == int(refused.headers["Retry-After"])
    # While it lasts, even the right password waits from that client: the limit tells
    # the guesser nothing either.
    right = await sign_in(client, email, password, client_address)
    problem(right, 429, "too-many-attempts")


async def test_failures_from_one_client_do_not_lock_the_owner_out_from_another(
    register: Any,
    email: str,
    password: str,
    client: httpx.AsyncClient,
    rules: Rules,
    problem: Any,
) -> None:
    """A stranger who knows the address cannot keep its owner out (OWASP: throttle the
    client that fails, never lock the account for everyone)."""
    await register(email)
    stranger, owner = fresh_client_address(), fresh_client_address()
    for n in range(rules.signin_per_account.attempts):
        assert (await sign_in(client, email, f"guess-{n}", stranger)).status_code == 401
    problem(await sign_in(client, email, "guess-again", stranger), 429, "too-many-attempts")
    assert (await sign_in(client, email, password, owner)).status_code == 201
    # ... and the stranger is still held back, even with the right password.
    problem(await sign_in(client, email, password, stranger), 429, "too-many-attempts")


async def test_guessing_from_one_address_is_stopped(
    client: httpx.AsyncClient, client_address: str, rules: Rules, problem: Any
) -> None:
    # Many accounts (credential stuffing) from one address: the address's limit stops it.
    for n in range(rules.signin_per_address.attempts):
        wrong = await sign_in(client, f"victim{n}@example.com", "guess-guess-guess", client_address)
        assert wrong.status_code == 401
    refused = await sign_in(client, "victim-last@example.com", "guess-guess", client_address)
    problem(refused, 429, "too-many-attempts")
    assert int(refused.headers["Retry-After"]) >= 1


async def test_unknown_addresses_are_limited_exactly_like_known_ones(
    client: httpx.AsyncClient, rules: Rules, problem: Any
) -> None:
    address = fresh_client_address()
    for _ in range(rules.signin_per_account.attempts):
        await sign_in(client, "nobody@example.com", "guess", address)
    problem(
        await sign_in(client, "nobody@example.com", "guess", address),
        429,
        "too-many-attempts",
    )


async def test_successful_sign_ins_do_not_count_against_the_limits(
    register: Any,
    email: str,
    password: str,
    client: httpx.AsyncClient,
    client_address: str,
    rules: Rules,
) -> None:
    await register(email)
    for _ in range(rules.signin_per_account.attempts + 2):
        assert (await sign_in(client, email, password, client_address)).status_code == 201


async def test_the_limit_is_a_sliding_window_in_valkey(
    app: FastAPI,
    register: Any,
    email: str,
    client: httpx.AsyncClient,
    valkey: Any,
    valkey_admin: Any,
) -> None:
    """Attempts are a sorted set per limit, kept no longer than the window."""
    await register(email)
    await sign_in(client, email, "guess-one", "203.0.113.5")
    pattern = "accounts:limits:signin-account-client:*"
    keys = [k async for k in valkey_admin.scan_iter(match=pattern)]
    assert len(keys) == 1
    assert await valkey.zcard(keys[0]) == 1
    window_ms = app.state.rules.signin_per_account.window_seconds * 1000
    assert 0 < await valkey.pttl(keys[0]) <= window_ms
    assert email.encode() not in keys[0]  # no address in clear in Valkey


async def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(
    register: Any,
    email: str,
    password: str,
    client: httpx.AsyncClient,
    client_address: str,
    db: asyncpg.Connection,
) -> None:
    await register(email)
    old = PasswordHasher(time_cost=3, memory_cost=32, parallelism=1).hash(password)
    await db.execute("UPDATE users SET password_hash = $1", old)
    assert (await sign_in(client, email, password, client_address)).status_code == 201
    upgraded = await db.fetchval("SELECT password_hash FROM users")
    assert upgraded != old
    assert upgraded.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert (await sign_in(client, email, password, client_address)).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "ada@example.com"},
        {"password": "plum-kettle-orbit-42"},
        {"email": "ada@example.com", "password": ""},
        {"email": "ada@example.com", "password": None},
        {"email": "ada@example.com", "password": "x" * 1025},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "remember": True},
    ],
)
async def test_malformed_sign_ins_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any], client_address: str, problem: Any
) -> None:
    response = await client.post(
        "/v1/sessions", json=body, headers={"x-client-address": client_address}
    )
    problem(response, 422, "invalid-request")


async def test_signing_in_needs_the_client_address(client: httpx.AsyncClient, problem: Any) -> None:
    body = {"email": "ada@example.com", "password": "plum-kettle-orbit-42"}
    problem(await client.post("/v1/sessions", json=body), 422, "invalid-request")
