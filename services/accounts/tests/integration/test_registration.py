"""Registration: accounts are created, and the answer never tells whether one existed."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from accounts.handlers import Rules


async def test_a_new_address_gets_an_account(
    register: Any, email: str, password: str, db: asyncpg.Connection
) -> None:
    response = await register(email.upper(), name="  Ada   Lovelace ")
    assert response.status_code == 202
    assert response.json()["email"] == email  # as normalized
    row = await db.fetchrow("SELECT email, display_name, password_hash FROM users")
    assert row["email"] == email
    assert row["display_name"] == "Ada Lovelace"
    assert row["password_hash"].startswith("$argon2id$")
    assert password not in row["password_hash"]


async def test_a_taken_address_gets_the_same_answer_and_changes_nothing(
    register: Any, email: str, password: str, db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    first = await register(email)
    again = await register(email.title(), "another-quince-harbor-7", name="Mallory")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    assert await db.fetchval("SELECT display_name FROM users") == "Ada Lovelace"
    # The owner's password still works; the newcomer's does not.
    address = {"x-client-address": "203.0.113.9"}
    mine = {"email": email, "password": password}
    theirs = {"email": email, "password": "another-quince-harbor-7"}
    assert (await client.post("/v1/sessions", json=mine, headers=address)).status_code == 201
    assert (await client.post("/v1/sessions", json=theirs, headers=address)).status_code == 401


@pytest.mark.parametrize(
    "address", ["not-an-address", "ada@", "ada@example", "ada lovelace@example.com"]
)
async def test_a_malformed_address_is_refused(register: Any, address: str, problem: Any) -> None:
    problem(await register(address), 422, "invalid-email")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-7", "Use at least 12 characters."),
        ("x" * 129, "Use at most 128 characters."),
        ("password1234", "It would be easy to guess: add more words or characters."),
        ("{email}", "Do not use your email address as the password."),
    ],
)
async def test_a_weak_password_is_refused_with_reasons(
    register: Any, email: str, password: str, reason: str, problem: Any, db: asyncpg.Connection
) -> None:
    body = problem(await register(email, password.format(email=email)), 422, "password-rejected")
    assert reason in body["reasons"]
    assert await db.fetchval("SELECT count(*) FROM users") == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42"},
        {"email": "ada@example.com", "display_name": "Ada"},
        {"password": "plum-kettle-orbit-42", "display_name": "Ada"},
        {"email": 7, "password": "plum-kettle-orbit-42", "display_name": "Ada"},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "display_name": ""},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "display_name": "   "},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "display_name": "a\nb"},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "display_name": "x" * 81},
        {"email": "ada@example.com", "password": "x" * 1025, "display_name": "Ada"},
        {"email": "a" * 321, "password": "plum-kettle-orbit-42", "display_name": "Ada"},
        {
            "email": "ada@example.com",
            "password": "plum-kettle-orbit-42",
            "display_name": "Ada",
            "admin": True,
        },
    ],
)
async def test_malformed_bodies_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any], client_address: str, problem: Any
) -> None:
    response = await client.post(
        "/v1/users", json=body, headers={"x-client-address": client_address}
    )
    problem(response, 422, "invalid-request")


@pytest.mark.parametrize("header", [None, "", "somewhere", "300.1.2.3"])
async def test_the_client_address_is_required(
    client: httpx.AsyncClient, header: str | None, problem: Any
) -> None:
    headers = {} if header is None else {"x-client-address": header}
    body = {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "display_name": "Ada"}
    problem(await client.post("/v1/users", json=body, headers=headers), 422, "invalid-request")


async def test_registrations_are_limited_per_client_address(
    register: Any, client_address: str, rules: Rules, problem: Any
) -> None:
    allowed = rules.registration_per_address.attempts
    for n in range(allowed):
        response = await register(f"n{n}-{client_address}@example.com", address=client_address)
        assert response.status_code == 202
    refused = await register("one-more@example.com", address=client_address)
    body = problem(refused, 429, "too-many-attempts")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= rules.registration_per_address.window_seconds
    assert body["retry_after"] == retry_after
    # Another address is not affected.
    assert (await register("elsewhere@example.com")).status_code == 202
