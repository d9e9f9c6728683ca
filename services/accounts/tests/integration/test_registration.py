"""Registration: accounts are created, and the answer never tells whether one existed."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import MutableMapping
from typing import Any

import asyncpg
import httpx
import pytest
from accounts.handlers import Rules
from accounts.store import Store
from fastapi import FastAPI

from .conftest import confirm, fresh_client_address, fresh_email, link_token, outbox


async def test_a_new_address_gets_an_account(
    register: Any, email: str, password: str, db: asyncpg.Connection
) -> None:
    response = await register(email.upper(), given="  Ada ", family=" Lovelace  ", verify=False)
    assert response.status_code == 202
    assert response.json()["email"] == email  # as normalized
    row = await db.fetchrow(
        "SELECT email, concat_ws(' ', given_name, family_name) AS display_name, password_hash,"
        " verified_at FROM users"
    )
    assert row["email"] == email
    assert row["display_name"] == "Ada Lovelace"
    assert row["password_hash"].startswith("$argon2id$")
    assert password not in row["password_hash"]
    assert row["verified_at"] is None  # proven by the link only


async def test_a_new_account_signs_in_only_once_its_address_is_proven(
    register: Any, email: str, password: str, client: httpx.AsyncClient, urls: Any, problem: Any
) -> None:
    await register(email, verify=False)
    (event,) = await outbox(urls, "AccountRegistered")
    assert event["data"]["email"] == email
    assert event["data"]["verify_url"].startswith("/verify-email/")
    credentials = {"email": email, "password": password}
    address = {"x-client-address": "203.0.113.9"}
    early = await client.post("/v1/sessions", json=credentials, headers=address)
    body = problem(early, 403, "email-unverified")
    assert "link" in body["detail"]
    # A wrong password still gets the one answer for everything else: nothing leaks.
    wrong = {"email": email, "password": password + "x"}
    problem(
        await client.post("/v1/sessions", json=wrong, headers=address), 401, "invalid-credentials"
    )

    verified = await confirm(client, await link_token(urls, email))
    assert verified.status_code == 201, verified.text
    assert verified.json()["user"]["email"] == email  # signed in by the link
    assert (await client.post("/v1/sessions", json=credentials, headers=address)).status_code == 201


async def test_the_link_works_once_and_is_stored_only_as_a_hash(
    register: Any, email: str, client: httpx.AsyncClient, urls: Any, db: asyncpg.Connection,
    problem: Any,
) -> None:  # fmt: skip
    await register(email, verify=False)
    token = await link_token(urls, email)
    stored = await db.fetchval("SELECT token_hash FROM verifications")
    assert stored == hashlib.sha256(token.encode()).digest()
    assert (await confirm(client, token)).status_code == 201
    again = await confirm(client, token)
    problem(again, 410, "verification-link-invalid")
    unknown = await confirm(client, "x" * 43)
    assert unknown.json()["detail"] == again.json()["detail"]


async def test_an_expired_link_does_not_work(
    register: Any, email: str, client: httpx.AsyncClient, urls: Any, db: asyncpg.Connection,
    problem: Any, rules: Rules,
) -> None:  # fmt: skip
    await register(email, verify=False)
    expires = await db.fetchval("SELECT expires_at - created_at FROM verifications")
    assert expires == rules.verification_lifetime
    await db.execute("UPDATE verifications SET expires_at = now() - interval '1 second'")
    token = await link_token(urls, email)
    problem(await confirm(client, token), 410,
            "verification-link-invalid")  # fmt: skip
    assert await db.fetchval("SELECT verified_at FROM users") is None


async def test_a_taken_address_gets_the_same_answer_and_changes_nothing(
    register: Any, email: str, password: str, db: asyncpg.Connection, client: httpx.AsyncClient,
    urls: Any,
) -> None:  # fmt: skip
    first = await register(email)
    again = await register(
        email.title(), "another-quince-harbor-7", given="Mallory", family=None, verify=False
    )
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    name = "SELECT concat_ws(' ', given_name, family_name) FROM users"  # the name, as written
    assert await db.fetchval(name) == "Ada Lovelace"
    # Its owner hears of the attempt (no link: the account is theirs already).
    (taken,) = await outbox(urls, "SignUpWithTakenAddress")
    assert taken["data"]["email"] == email
    assert taken["data"]["display_name"] == "Ada Lovelace"
    assert len(await outbox(urls, "AccountRegistered")) == 1  # the first one's only
    # The owner's password still works; the newcomer's does not.
    address = {"x-client-address": "203.0.113.9"}
    mine = {"email": email, "password": password}
    theirs = {"email": email, "password": "another-quince-harbor-7"}
    assert (await client.post("/v1/sessions", json=mine, headers=address)).status_code == 201
    assert (await client.post("/v1/sessions", json=theirs, headers=address)).status_code == 401


async def test_a_taken_address_costs_a_password_hash_too(
    app: FastAPI, register: Any, email: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same work either way, so the time of the answer tells nothing either."""
    await register(email)
    hashed: list[str] = []
    passwords = app.state.passwords
    real = passwords.hash

    async def counting(password: str) -> str:
        hashed.append(password)
        result: str = await real(password)
        return result

    monkeypatch.setattr(passwords, "hash", counting)
    await register(email, "another-quince-harbor-7", verify=False)
    await register(fresh_email(), "another-quince-harbor-7", verify=False)
    assert len(hashed) == 2


async def test_an_unproven_address_registered_again_belongs_to_the_newest_sign_up(
    register: Any, email: str, client: httpx.AsyncClient, urls: Any, problem: Any
) -> None:
    """Nobody has proven the address yet: a stranger who registered it first must not keep
    it. The newest password wins, earlier links stop working."""
    await register(email, "stranger-pre-claims-it-9", given="Mallory", family=None, verify=False)
    stale = await link_token(urls, email)
    await register(email, given="Ada", family="Lovelace", verify=False)
    fresh = await link_token(urls, email)
    assert fresh != stale
    problem(await confirm(client, stale), 410,
            "verification-link-invalid")  # fmt: skip
    signed_in = await confirm(client, fresh)
    assert signed_in.json()["user"]["display_name"] == "Ada Lovelace"
    address = {"x-client-address": "203.0.113.9"}
    strangers = {"email": email, "password": "stranger-pre-claims-it-9"}
    assert (await client.post("/v1/sessions", json=strangers, headers=address)).status_code == 401


VICTIM, ATTACKER = "victims-own-lantern-31", "attackers-copper-fig-58"


async def test_a_link_confirms_only_with_the_password_of_its_sign_up(
    register: Any, email: str, client: httpx.AsyncClient, urls: Any, problem: Any
) -> None:
    """Pre-hijacking: the owner signs up, a stranger signs up again with the same address
    (their password replaces the owner's, a new link goes to the owner's mailbox), and the
    owner, clicking the newest link, must not confirm the stranger's password."""
    await register(email, VICTIM, verify=False)
    await register(email, ATTACKER, given="Mallory", family=None, verify=False)
    newest = await link_token(urls, email)
    refused = await confirm(client, newest, VICTIM)
    body = problem(refused, 403, "verification-password-mismatch")
    assert "sign up again" in body["detail"]
    # The attacker never confirms (the link is in the owner's mailbox) and cannot sign in.
    address = {"x-client-address": fresh_client_address()}
    attackers = {"email": email, "password": ATTACKER}
    problem(await client.post("/v1/sessions", json=attackers, headers=address), 403,
            "email-unverified")  # fmt: skip
    # The owner signs up again: their password replaces the attacker's, and they confirm.
    await register(email, VICTIM, verify=False)
    own = await link_token(urls, email)
    problem(await confirm(client, own, ATTACKER), 403, "verification-password-mismatch")
    assert (await confirm(client, own, VICTIM)).status_code == 201
    problem(await client.post("/v1/sessions", json=attackers, headers=address), 401,
            "invalid-credentials")  # fmt: skip
    owners = {"email": email, "password": VICTIM}
    assert (await client.post("/v1/sessions", json=owners, headers=address)).status_code == 201


async def test_a_wrong_password_leaves_the_link_usable_until_it_expires(
    register: Any, email: str, password: str, client: httpx.AsyncClient, urls: Any,
    db: asyncpg.Connection, problem: Any,
) -> None:  # fmt: skip
    await register(email, verify=False)
    token = await link_token(urls, email)
    problem(await confirm(client, token, password + "x"), 403, "verification-password-mismatch")
    assert await db.fetchval("SELECT verified_at FROM users") is None
    assert (await confirm(client, token, password)).status_code == 201


async def test_wrong_passwords_at_a_link_count_as_failed_sign_ins(
    register: Any, email: str, password: str, client: httpx.AsyncClient, urls: Any,
    rules: Rules, problem: Any,
) -> None:  # fmt: skip
    """The link page is no way around the sign-in limit per (account, client)."""
    await register(email, verify=False)
    token = await link_token(urls, email)
    client_address = fresh_client_address()
    for _ in range(rules.signin_per_account.attempts - 1):
        guess = await confirm(client, token, "a-guess-" + fresh_email(), client_address)
        problem(guess, 403, "verification-password-mismatch")
    wrong = {"email": email, "password": "one-more-guess-77"}
    headers = {"x-client-address": client_address}
    problem(await client.post("/v1/sessions", json=wrong, headers=headers), 401,
            "invalid-credentials")  # fmt: skip
    problem(await confirm(client, token, password, client_address), 429, "too-many-attempts")
    # Another client (the owner's own browser) still confirms.
    assert (await confirm(client, token, password)).status_code == 201


async def test_a_new_link_is_sent_on_request_with_one_answer_for_every_address(
    register: Any, email: str, client: httpx.AsyncClient, urls: Any, problem: Any
) -> None:
    await register(email, verify=False)
    first = await link_token(urls, email)
    verified = fresh_email()
    await register(verified)
    headers = {"x-client-address": fresh_client_address()}
    answers = [
        await client.post("/v1/users/verification-requests", json={"email": e}, headers=headers)
        for e in (email, verified, "nobody@example.com", "not an address")
    ]
    assert {r.status_code for r in answers} == {202}
    assert len({r.text for r in answers}) == 1
    requested = await outbox(urls, "VerificationRequested")
    assert [e["data"]["email"] for e in requested] == [email]
    problem(await confirm(client, first), 410,
            "verification-link-invalid")  # fmt: skip
    second = await link_token(urls, email)
    assert (await confirm(client, second)).status_code == 201


async def test_link_requests_are_limited_per_address(
    register: Any, email: str, client: httpx.AsyncClient, rules: Rules, problem: Any
) -> None:
    await register(email, verify=False)
    for _ in range(rules.verification_requests_per_email.attempts):
        headers = {"x-client-address": fresh_client_address()}
        sent = await client.post(
            "/v1/users/verification-requests", json={"email": email}, headers=headers
        )
        assert sent.status_code == 202
    headers = {"x-client-address": fresh_client_address()}
    refused = await client.post(
        "/v1/users/verification-requests", json={"email": email}, headers=headers
    )
    problem(refused, 429, "too-many-attempts")


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
        {"email": "ada@example.com", "given_name": "Ada"},
        {"password": "plum-kettle-orbit-42", "given_name": "Ada"},
        {"email": 7, "password": "plum-kettle-orbit-42", "given_name": "Ada"},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "given_name": ""},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "given_name": "   "},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "given_name": "a\nb"},
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "given_name": "x" * 81},
        {"email": "ada@example.com", "password": "x" * 1025, "given_name": "Ada"},
        {"email": "a" * 321, "password": "plum-kettle-orbit-42", "given_name": "Ada"},
        {
            "email": "ada@example.com",
            "password": "plum-kettle-orbit-42",
            "given_name": "Ada",
            "admin": True,
        },
        # Deprecated in release 2, gone in release 3 (expand/contract): unknown now.
        {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "display_name": "Ada"},
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
    body = {"email": "ada@example.com", "password": "plum-kettle-orbit-42", "given_name": "Ada"}
    problem(await client.post("/v1/users", json=body, headers=headers), 422, "invalid-request")


async def test_registrations_are_limited_per_client_address(
    register: Any, client_address: str, rules: Rules, problem: Any
) -> None:
    allowed = rules.registration_per_address.attempts
    for n in range(allowed):
        response = await register(
            f"n{n}-{client_address}@example.com", address=client_address, verify=False
        )
        assert response.status_code == 202
    refused = await register("one-more@example.com", address=client_address)
    body = problem(refused, 429, "too-many-attempts")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= rules.registration_per_address.window_seconds
    assert body["retry_after"] == retry_after
    # Another address is not affected.
    assert (await register("elsewhere@example.com")).status_code == 202


async def test_the_answer_to_a_link_request_does_not_wait_for_the_link(
    app: FastAPI, client: httpx.AsyncClient, keys: Any, register: Any, email: str, urls: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Only an unconfirmed account gets a write (a new link, an event): were the answer to
    wait for it, its time would tell which addresses wait for confirmation. Called as a
    server would call the app (httpx's in-process transport waits for background work)."""
    await register(email, verify=False)
    held = asyncio.Event()
    real = Store.request_verification

    async def after_the_answer(store: Store, *args: Any) -> bool:
        await held.wait()
        return await real(store, *args)

    monkeypatch.setattr(Store, "request_verification", after_the_answer)
    answered: list[int] = []
    done = asyncio.Event()

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answered.append(message["status"])
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    body = json.dumps({"email": email}).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = {**keys.headers("frontend", "accounts"), "content-type": "application/json",
               "x-client-address": fresh_client_address()}  # fmt: skip
    path = "/v1/users/verification-requests"
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("accounts", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    call = asyncio.create_task(app(scope, receive, send))
    try:
        await asyncio.wait_for(done.wait(), 10)
        assert answered == [202]
        assert len(await outbox(urls, "VerificationRequested")) == 0  # not made yet
    finally:
        held.set()
        await asyncio.wait_for(call, 10)
    assert len(await outbox(urls, "VerificationRequested")) == 1  # made after the answer
