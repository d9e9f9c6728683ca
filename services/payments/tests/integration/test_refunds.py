"""Refunds: full by default, partial, never past the charge, never of a failed charge."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from chassis.testing import assert_problem

from .conftest import DECLINED, charge, charge_body, charged, new_key, refund


async def test_a_full_refund_by_default(client: httpx.AsyncClient) -> None:
    made = await charged(client, 4599)
    response = await refund(client, made["id"], {"reason": "order cancelled"})
    assert response.status_code == 201, response.text
    refunded = response.json()
    uuid.UUID(refunded.pop("id"))
    refunded.pop("created_at")
    assert refunded == {
        "charge_id": made["id"],
        "status": "succeeded",
        "amount": {"amount": 4599, "currency": "EUR"},
        "reason": "order cancelled",
    }
    view = (await client.get(f"/v1/charges/{made['id']}")).json()
    assert view["net"] == {"amount": 0, "currency": "EUR"}
    assert view["refunded"] == {"amount": 4599, "currency": "EUR"}
    assert view["status"] == "succeeded"  # the charge row itself never changes
    assert_problem(await refund(client, made["id"], {"reason": "again"}), 409, "over-refund")


async def test_partial_refunds_then_the_rest(client: httpx.AsyncClient) -> None:
    made = await charged(client, 1000)
    part = {"amount": {"amount": 300, "currency": "EUR"}, "reason": "one item"}
    assert (await refund(client, made["id"], part)).status_code == 201
    assert (await refund(client, made["id"], part)).status_code == 201
    too_much = {"amount": {"amount": 401, "currency": "EUR"}, "reason": "too much"}
    problem = assert_problem(await refund(client, made["id"], too_much), 409, "over-refund")
    assert "400 EUR left" in problem["detail"]
    rest = await refund(client, made["id"], {"reason": "the rest"})
    assert rest.json()["amount"] == {"amount": 400, "currency": "EUR"}
    view = (await client.get(f"/v1/charges/{made['id']}")).json()
    assert [r["amount"]["amount"] for r in view["refunds"]] == [300, 300, 400]
    assert view["net"]["amount"] == 0


async def test_concurrent_refunds_never_pass_the_charge(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    made = await charged(client, 1000)
    part = {"amount": {"amount": 300, "currency": "EUR"}, "reason": "part"}
    answers = await asyncio.gather(*(refund(client, made["id"], part) for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [201] * 3 + [409] * 5
    assert await db.fetchval("SELECT sum(amount) FROM refunds") == 900


async def test_a_failed_charge_cannot_be_refunded(client: httpx.AsyncClient) -> None:
    declined = await charge(client, charge_body(DECLINED))
    charge_id = declined.json()["charge_id"]
    response = await refund(client, charge_id, {"reason": "cancel"})
    assert_problem(response, 409, "charge-not-refundable")


async def test_a_refusal_is_stored_under_its_key(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    declined = await charge(client, charge_body(DECLINED))
    key = new_key()
    first = await refund(client, declined.json()["charge_id"], {"reason": "cancel"}, key)
    again = await refund(client, declined.json()["charge_id"], {"reason": "cancel"}, key)
    assert (first.status_code, again.status_code) == (409, 409)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await db.fetchval("SELECT count(*) FROM refunds") == 0


async def test_a_refund_replays_after_later_refunds(client: httpx.AsyncClient) -> None:
    made = await charged(client, 1000)
    key = new_key()
    part = {"amount": {"amount": 600, "currency": "EUR"}, "reason": "part"}
    first = await refund(client, made["id"], part, key)
    assert (await refund(client, made["id"], {"reason": "the rest"})).status_code == 201
    again = await refund(client, made["id"], part, key)  # would be an over-refund if redone
    assert again.status_code == 201
    assert again.content == first.content


async def test_refund_requests_that_are_wrong_are_422_and_store_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    made = await charged(client, 1000)
    for body, kind in (
        ({"amount": {"amount": 100, "currency": "USD"}, "reason": "x"}, "refund-currency-mismatch"),
        ({"amount": {"amount": 0, "currency": "EUR"}, "reason": "x"}, "invalid-request"),
        ({"amount": {"amount": -5, "currency": "EUR"}, "reason": "x"}, "invalid-request"),
        ({"amount": 100, "reason": "x"}, "invalid-request"),
        ({"reason": ""}, "invalid-request"),
        ({}, "invalid-request"),
        ({"reason": "x", "extra": 1}, "invalid-request"),
    ):
        assert_problem(await refund(client, made["id"], body), 422, kind)
    response = await client.post(f"/v1/charges/{made['id']}/refunds", json={"reason": "no key"})
    assert_problem(response, 422, "invalid-request")
    assert await db.fetchval("SELECT count(*) FROM refunds") == 0
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 1  # the charge's


async def test_refunding_an_unknown_charge_is_404(client: httpx.AsyncClient) -> None:
    key = new_key()
    missing = await refund(client, str(uuid.uuid4()), {"reason": "x"}, key)
    assert_problem(missing, 404, "charge-not-found")
    made = await charged(client)
    # A 404 stores nothing under the key.
    assert (await refund(client, made["id"], {"reason": "x"}, key)).status_code == 201
    assert_problem(await refund(client, "not-a-uuid", {"reason": "x"}), 422, "invalid-request")
