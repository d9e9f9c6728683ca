"""Idempotency: one key, one charge, however many times and however concurrently it is
sent; the same key with another request is refused."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from chassis.testing import assert_problem

from .conftest import DECLINED, TIMES_OUT, charge, charge_body, charged, new_key, refund


async def test_fifty_concurrent_identical_charges_make_one(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body, key = charge_body(), new_key()
    answers = await asyncio.gather(*(charge(client, body, key) for _ in range(50)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.content for r in answers}) == 1  # byte-identical
    replayed = [r.headers.get("idempotent-replayed") for r in answers]
    assert replayed.count("true") == 49
    assert replayed.count(None) == 1
    assert await db.fetchval("SELECT count(*) FROM charges") == 1
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 1
    assert await db.fetchval("SELECT id::text FROM charges") == answers[0].json()["id"]


async def test_a_duplicate_waits_for_a_slow_charge_and_gets_its_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body, key = charge_body(TIMES_OUT), new_key()
    answers = await asyncio.gather(*(charge(client, body, key) for _ in range(10)))
    assert {r.status_code for r in answers} == {402}
    assert len({r.content for r in answers}) == 1
    assert {r.headers["content-type"] for r in answers} == {"application/problem+json"}
    assert await db.fetchval("SELECT count(*) FROM charges") == 1


async def test_a_retry_later_gets_the_stored_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for number, status in (("4242424242424242", 201), (DECLINED, 402)):
        body, key = charge_body(number), new_key()
        first = await charge(client, body, key)
        again = await charge(client, body, key)
        assert (first.status_code, again.status_code) == (status, status)
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
    assert await db.fetchval("SELECT count(*) FROM charges") == 2


async def test_spaces_in_the_number_are_the_same_request(client: httpx.AsyncClient) -> None:
    key = new_key()
    body = charge_body("4242424242424242")
    first = await charge(client, body, key)
    spaced = {**body, "card": {**body["card"], "number": "4242 4242 4242 4242"}}
    again = await charge(client, spaced, key)
    assert again.status_code == 201
    assert again.content == first.content


async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body, key = charge_body(), new_key()
    first = await charge(client, body, key)
    assert first.status_code == 201
    changes = [
        {"amount": {"amount": 4600, "currency": "EUR"}},
        {"amount": {"amount": 4599, "currency": "USD"}},
        {"reference": "order:another"},
        {"description": "another"},
        {"card": {**body["card"], "number": "5555555555554444"}},
        {"card": {**body["card"], "exp_year": 2031}},
    ]
    for change in changes:
        refused = await charge(client, {**body, **change}, key)
        problem = assert_problem(refused, 422, "idempotency-key-reused")
        assert "idempotent-replayed" not in refused.headers
        assert "new key" in problem["detail"]
    assert await db.fetchval("SELECT count(*) FROM charges") == 1
    # The original request under its key still gets its answer.
    assert (await charge(client, body, key)).content == first.content


async def test_a_key_is_not_released_by_a_refused_body(client: httpx.AsyncClient) -> None:
    body, key = charge_body(), new_key()
    bad = charge_body(card_cvc="1")
    assert_problem(await charge(client, bad, key), 422, "card-invalid")
    # A request error stores nothing: the fixed request may use the key.
    assert (await charge(client, body, key)).status_code == 201


async def test_a_charge_key_reused_for_a_refund_is_422(client: httpx.AsyncClient) -> None:
    key = new_key()
    body = charge_body()
    made = await charge(client, body, key)
    response = await refund(client, made.json()["id"], {"reason": "test"}, key)
    assert_problem(response, 422, "idempotency-key-reused")


async def test_concurrent_refunds_under_one_key_refund_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    made = await charged(client)
    key = new_key()
    body = {"amount": {"amount": 1000, "currency": "EUR"}, "reason": "test"}
    answers = await asyncio.gather(*(refund(client, made["id"], body, key) for _ in range(20)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.content for r in answers}) == 1
    assert [r.headers.get("idempotent-replayed") for r in answers].count("true") == 19
    assert await db.fetchval("SELECT count(*) FROM refunds") == 1
