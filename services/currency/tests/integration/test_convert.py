"""GET and POST /v1/convert: amounts in integer minor units, rounded per currency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from currency.domain import MAX_AMOUNT, MAX_BATCH

ProblemCheck = Callable[[httpx.Response, int, str], dict[str, Any]]  # the `problem` fixture


async def convert(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get("/v1/convert", params=params)


async def test_dollars_to_yen(client: httpx.AsyncClient) -> None:
    # 24.00 USD / 1.0705 * 171.94 = 3854.797 yen; the yen has no minor unit.
    response = await convert(client, amount=2400, **{"from": "USD", "to": "JPY"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "original": {"amount": 2400, "currency": "USD"},
        "converted": {"amount": 3855, "currency": "JPY"},
        "rates_date": "2024-06-28",
    }


@pytest.mark.parametrize(
    ("amount", "source", "target", "expected"),
    [
        (10000, "EUR", "USD", 10705),  # 100 euros at the published 1.0705
        (100, "EUR", "JPY", 172),  # 171.94 yen, to the whole yen
        (3855, "JPY", "USD", 2400),  # and back
        (1234, "USD", "GBP", 976),  # 12.34 / 1.0705 * 0.84638 = 9.7563
        (100_000, "KRW", "ISK", 10096),  # two currencies without minor units
        (2400, "USD", "USD", 2400),
        (0, "USD", "IDR", 0),
    ],
)
async def test_conversions(
    client: httpx.AsyncClient, amount: int, source: str, target: str, expected: int
) -> None:
    response = await convert(client, amount=amount, **{"from": source, "to": target})

    assert response.status_code == 200, response.text
    assert response.json()["converted"] == {"amount": expected, "currency": target}


async def test_an_unsupported_currency_is_named(
    client: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    response = await convert(client, amount=100, **{"from": "USD", "to": "KWD"})

    body = problem(response, 422, "unsupported-currency")
    assert body["currency"] == "KWD"
    assert "KWD" in str(body["detail"])


async def test_a_withdrawn_currency_is_unsupported(
    client: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    response = await convert(client, amount=100, **{"from": "BGN", "to": "EUR"})

    problem(response, 422, "unsupported-currency")


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"amount": -1, "from": "USD", "to": "JPY"}, "query.amount"),
        ({"amount": MAX_AMOUNT + 1, "from": "USD", "to": "JPY"}, "query.amount"),
        ({"amount": "12.5", "from": "USD", "to": "JPY"}, "query.amount"),
        ({"amount": "ten", "from": "USD", "to": "JPY"}, "query.amount"),
        ({"from": "USD", "to": "JPY"}, "query.amount"),
        ({"amount": 100, "from": "usd", "to": "JPY"}, "query.from"),
        ({"amount": 100, "from": "DOLLAR", "to": "JPY"}, "query.from"),
        ({"amount": 100, "to": "JPY"}, "query.from"),
        ({"amount": 100, "from": "USD"}, "query.to"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, problem: ProblemCheck, params: dict[str, Any], location: str
) -> None:
    body = problem(await convert(client, **params), 422, "invalid-request")

    assert [error["location"] for error in body["errors"]] == [location]


async def test_the_largest_amount_converts(client: httpx.AsyncClient) -> None:
    response = await convert(client, amount=MAX_AMOUNT, **{"from": "GBP", "to": "IDR"})

    assert response.status_code == 200
    assert response.json()["converted"]["amount"] < 2**53


# --- a batch: a page of prices in one call -----------------------------------------------


async def test_a_page_of_prices_converts_in_one_call_in_order(client: httpx.AsyncClient) -> None:
    prices = [{"amount": 100 * n + 99, "currency": "USD"} for n in range(24)]

    response = await client.post("/v1/convert", json={"to": "JPY", "items": prices})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rates_date"] == "2024-06-28"
    assert [item["original"] for item in body["items"]] == prices
    for item in body["items"]:
        one = await convert(
            client, amount=item["original"]["amount"], **{"from": "USD", "to": "JPY"}
        )
        assert item["converted"] == one.json()["converted"]


async def test_a_batch_may_mix_currencies(client: httpx.AsyncClient) -> None:
    items = [{"amount": 10000, "currency": "EUR"}, {"amount": 172, "currency": "JPY"}]

    response = await client.post("/v1/convert", json={"to": "USD", "items": items})

    converted = [item["converted"] for item in response.json()["items"]]
    assert converted == [{"amount": 10705, "currency": "USD"}, {"amount": 107, "currency": "USD"}]


async def test_a_batch_is_safe_to_repeat_with_an_idempotency_key(
    client: httpx.AsyncClient,
) -> None:
    body = {"to": "GBP", "items": [{"amount": 1234, "currency": "USD"}]}
    headers = {"Idempotency-Key": "any-value"}

    first = await client.post("/v1/convert", json=body, headers=headers)
    second = await client.post("/v1/convert", json=body, headers=headers)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()


@pytest.mark.parametrize(
    "body",
    [
        {"to": "JPY", "items": []},
        {"to": "JPY", "items": [{"amount": 1, "currency": "USD"}] * (MAX_BATCH + 1)},
        {"to": "JPY"},
        {"items": [{"amount": 1, "currency": "USD"}]},
        {"to": "jpy", "items": [{"amount": 1, "currency": "USD"}]},
        {"to": "JPY", "items": [{"amount": 12.0, "currency": "USD"}]},
        {"to": "JPY", "items": [{"amount": "12", "currency": "USD"}]},
        {"to": "JPY", "items": [{"amount": -1, "currency": "USD"}]},
        {"to": "JPY", "items": [{"amount": MAX_AMOUNT + 1, "currency": "USD"}]},
        {"to": "JPY", "items": [{"amount": 1}]},
        {"to": "JPY", "items": [{"amount": 1, "currency": "USD", "note": "x"}]},
        {"to": "JPY", "items": [{"amount": 1, "currency": "USD"}], "from": "USD"},
    ],
)
async def test_a_bad_batch_is_422(
    client: httpx.AsyncClient, problem: ProblemCheck, body: dict[str, Any]
) -> None:
    problem(await client.post("/v1/convert", json=body), 422, "invalid-request")


async def test_a_batch_that_is_not_json_is_422(
    client: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    response = await client.post(
        "/v1/convert", content=b"to=JPY", headers={"content-type": "application/json"}
    )

    problem(response, 422, "invalid-request")


async def test_an_unsupported_currency_in_a_batch_is_named(
    client: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    items = [{"amount": 1, "currency": "USD"}, {"amount": 1, "currency": "XYZ"}]

    response = await client.post("/v1/convert", json={"to": "JPY", "items": items})

    assert problem(response, 422, "unsupported-currency")["currency"] == "XYZ"
