"""Charging a card: every test card's outcome, every bad input a clear 422, reads by id
and by reference."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from chassis.testing import assert_problem

from .conftest import (
    DECLINED,
    INSUFFICIENT_FUNDS,
    MASTERCARD,
    PROCESSING_ERROR,
    TIMES_OUT,
    VISA,
    charge,
    charge_body,
    new_key,
    reference,
)


@pytest.mark.parametrize(
    ("number", "brand", "last4"),
    [
        (VISA, "visa", "4242"),
        (MASTERCARD, "mastercard", "4444"),
        ("378282246310005", "amex", "0005"),
    ],
)
async def test_a_good_card_is_charged(
    client: httpx.AsyncClient, db: asyncpg.Connection, number: str, brand: str, last4: str
) -> None:
    body = charge_body(number, card_cvc="1234" if brand == "amex" else "123")
    response = await charge(client, body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert "idempotent-replayed" not in response.headers
    charged = response.json()
    created = datetime.datetime.fromisoformat(charged.pop("created_at"))
    assert created.tzinfo is not None
    assert abs(datetime.datetime.now(datetime.UTC) - created) < datetime.timedelta(minutes=5)
    uuid.UUID(charged.pop("id"))
    euros = {"amount": 4599, "currency": "EUR"}
    assert charged == {
        "status": "succeeded",
        "amount": euros,
        "card": {"brand": brand, "last4": last4},
        "reference": body["reference"],
        "description": "Mosaic order",
        "failure": None,
        "refunds": [],
        "refunded": {"amount": 0, "currency": "EUR"},
        "net": euros,
    }
    row = await db.fetchrow("SELECT * FROM charges")
    assert (row["card_brand"], row["card_last4"], row["failure_code"]) == (brand, last4, None)


@pytest.mark.parametrize(
    ("number", "kind", "code"),
    [
        (DECLINED, "card-declined", "card_declined"),
        (INSUFFICIENT_FUNDS, "insufficient-funds", "insufficient_funds"),
        (PROCESSING_ERROR, "processing-error", "processing_error"),
        (TIMES_OUT, "processor-timeout", "processor_timeout"),
    ],
)
async def test_a_failed_charge_is_recorded_and_answered_402(
    client: httpx.AsyncClient, number: str, kind: str, code: str
) -> None:
    body = charge_body(number)
    problem = assert_problem(await charge(client, body), 402, kind)
    assert problem["code"] == code
    assert "please" in problem["detail"].lower()  # for the shopper
    recorded = await client.get(f"/v1/charges/{problem['charge_id']}")
    assert recorded.status_code == 200
    assert recorded.json()["status"] == "failed"
    assert recorded.json()["failure"] == {"code": code, "message": problem["detail"]}
    assert recorded.json()["net"] == {"amount": 0, "currency": "EUR"}
    assert recorded.json()["card"]["last4"] == number[-4:]


async def test_the_timeout_card_waits_for_the_setting_by_default(
    database_url: str, keys: Any
) -> None:
    from chassis.testing import in_process_client
    from payments.app import create_payments_app

    from .conftest import settings_for

    app = create_payments_app(settings_for(database_url, keys, PROCESSOR_TIMEOUT_SECONDS=None))
    assert app.state.processor.timeout == 2.0
    async with in_process_client(app, keys, "orders", timeout=60) as http:
        started = datetime.datetime.now(datetime.UTC)
        problem = assert_problem(
            await charge(http, charge_body(TIMES_OUT)), 402, "processor-timeout"
        )
        waited = datetime.datetime.now(datetime.UTC) - started
    assert waited >= datetime.timedelta(seconds=2)
    assert problem["code"] == "processor_timeout"


def _card(**card: Any) -> dict[str, Any]:
    return charge_body(**{f"card_{name}": value for name, value in card.items()})


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (_card(number="4242424242424241"), "card.number", "This card number is not valid."),
        (
            _card(number="4242-4242-4242-424a"),
            "card.number",
            "Enter the card number using digits only.",
        ),
        (_card(number="42424242"), "card.number", "A card number has 12 to 19 digits."),
        (_card(exp_year=2020), "card.exp_year", "This card has expired."),
        (_card(exp_month=13), "card.exp_month", "The expiry month is 1 to 12."),
        (_card(cvc="12"), "card.cvc", "The security code is 3 digits."),
        (_card(cvc="abc"), "card.cvc", "The security code is 3 digits."),
        (_card(number="378282246310005", cvc="123"), "card.cvc", "The security code is 4 digits."),
    ],
)
async def test_a_card_breaking_a_rule_is_422_with_the_field(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    problem = assert_problem(await charge(client, body), 422, "card-invalid")
    assert problem["errors"] == [{"field": field, "location": f"body.{field}", "message": message}]
    assert await db.fetchval("SELECT count(*) FROM charges") == 0
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0


async def test_last_months_card_has_expired(client: httpx.AsyncClient) -> None:
    today = datetime.datetime.now(datetime.UTC).date()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    body = _card(exp_month=last_month.month, exp_year=last_month.year)
    problem = assert_problem(await charge(client, body), 422, "card-invalid")
    assert [e["message"] for e in problem["errors"]] == ["This card has expired."]
    this_month = _card(exp_month=today.month, exp_year=today.year)
    assert (await charge(client, this_month)).status_code == 201


def _money(amount: Any = 4599, currency: Any = "EUR") -> dict[str, Any]:
    return charge_body(amount={"amount": amount, "currency": currency})


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (_money(0), "body.amount.amount"),
        (_money(-100), "body.amount.amount"),
        (_money(10.5), "body.amount.amount"),
        (_money("4599"), "body.amount.amount"),
        (_money(1_000_000_000_000), "body.amount.amount"),  # over every currency's limit
        (_money(currency="eur"), "body.amount.currency"),
        (_money(currency="EURO"), "body.amount.currency"),
        (_money(currency="XYZ"), "body.amount.currency"),
        (_money(currency=None), "body.amount.currency"),
        (charge_body(amount=4599), "body.amount"),
        (charge_body(reference=""), "body.reference"),
        (charge_body(reference="order 1"), "body.reference"),
        (charge_body(description="x" * 501), "body.description"),
        (charge_body(extra="field"), "body.extra"),
        (_card(exp_month="12"), "body.card.exp_month"),
        (_card(number=4242424242424242), "body.card.number"),
        (_card(number="4" * 41), "body.card.number"),
        ({k: v for k, v in charge_body().items() if k != "card"}, "body.card"),
    ],
)
async def test_a_bad_body_is_422(
    client: httpx.AsyncClient, body: dict[str, Any], location: str
) -> None:
    problem = assert_problem(await charge(client, body), 422, "invalid-request")
    assert location in {e["location"] for e in problem["errors"]}, problem


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (174_872_100, "IDR"),  # EUR 100 in rupiah: over eight digits, within IDR's twelve
        (99_999_999, "USD"),
        (99_999_999, "JPY"),
        (999_999, "ISK"),
    ],
)
async def test_an_amount_within_its_currency_s_limit_is_charged(
    client: httpx.AsyncClient, amount: int, currency: str
) -> None:
    response = await charge(client, _money(amount, currency))
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == {"amount": amount, "currency": currency}


@pytest.mark.parametrize(
    ("amount", "currency", "most"),
    [
        (100_000_000, "EUR", "EUR 999,999.99"),
        (1_000_000, "ISK", "ISK 999,999"),
        (100_000_000, "JPY", "JPY 99,999,999"),
    ],
)
async def test_an_amount_over_its_currency_s_limit_is_a_clear_422_and_nothing_is_recorded(
    client: httpx.AsyncClient, db: asyncpg.Connection, amount: int, currency: str, most: str
) -> None:
    problem = assert_problem(
        await charge(client, _money(amount, currency)), 422, "amount-over-limit"
    )
    assert f"more than the {most} a single card payment may be" in problem["detail"]
    assert "Input should be" not in problem["detail"]
    assert await db.fetchval("SELECT count(*) FROM charges") == 0


async def test_each_currency_s_limit_is_published_for_orders(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/limits/IDR")
    assert answer.status_code == 200, answer.text
    limit = answer.json()
    assert limit["max_amount"] == {"amount": 999_999_999_999, "currency": "IDR"}
    assert limit["shown"] == "IDR 9,999,999,999.99"
    assert limit["source"].startswith("https://docs.stripe.com/currencies")
    assert (await client.get("/v1/limits/USD")).json()["shown"] == "USD 999,999.99"
    assert_problem(await client.get("/v1/limits/XYZ"), 422, "invalid-request")


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/charges",
        content=b'{"amount": {"amount": 10, "currency": "EUR"}, "card": {',
        headers={"Idempotency-Key": new_key(), "content-type": "application/json"},
    )
    assert_problem(response, 422, "invalid-request")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Idempotency-Key": ""},
        {"Idempotency-Key": "has spaces"},
        {"Idempotency-Key": "k" * 256},
        {"Idempotency-Key": "ключ".encode()},
    ],
)
async def test_a_missing_or_bad_idempotency_key_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, headers: dict[str, str]
) -> None:
    response = await client.post("/v1/charges", json=charge_body(), headers=headers)
    problem = assert_problem(response, 422, "invalid-request")
    assert "header.Idempotency-Key" in {e["location"] for e in problem["errors"]}
    assert await db.fetchval("SELECT count(*) FROM charges") == 0


async def test_a_key_of_255_characters_is_fine(client: httpx.AsyncClient) -> None:
    assert (await charge(client, charge_body(), key="k" * 255)).status_code == 201


async def test_an_unknown_charge_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"/v1/charges/{uuid.uuid4()}"), 404, "charge-not-found")
    assert_problem(await client.get("/v1/charges/not-a-uuid"), 422, "invalid-request")


async def test_charges_by_reference_with_refunds_and_net(client: httpx.AsyncClient) -> None:
    order = reference()
    declined = await charge(client, charge_body(DECLINED, reference=order))
    assert declined.status_code == 402
    good = await charge(client, charge_body(VISA, reference=order))
    assert good.status_code == 201
    refunded = await client.post(
        f"/v1/charges/{good.json()['id']}/refunds",
        json={"amount": {"amount": 599, "currency": "EUR"}, "reason": "one item out of stock"},
        headers={"Idempotency-Key": new_key()},
    )
    assert refunded.status_code == 201
    await charge(client, charge_body(VISA, reference=reference()))  # another order's

    found = await client.get("/v1/charges", params={"reference": order})
    assert found.status_code == 200
    charges = found.json()["charges"]
    assert [c["status"] for c in charges] == ["failed", "succeeded"]
    assert [c["net"]["amount"] for c in charges] == [0, 4000]
    assert charges[1]["refunded"] == {"amount": 599, "currency": "EUR"}
    assert charges[1]["refunds"] == [refunded.json()]
    assert charges[1] == (await client.get(f"/v1/charges/{good.json()['id']}")).json()

    nothing = await client.get("/v1/charges", params={"reference": reference()})
    assert nothing.json() == {"charges": []}


@pytest.mark.parametrize("query", ["", "?reference=", "?reference=order%201"])
async def test_listing_needs_a_valid_reference(client: httpx.AsyncClient, query: str) -> None:
    assert_problem(await client.get(f"/v1/charges{query}"), 422, "invalid-request")
