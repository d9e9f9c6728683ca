"""Quotes: every option's price by zone and units; every bad input a clear 422."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from chassis.testing import assert_problem


def quote_body(country: str = "DE", postal_code: str | None = "10115", **changes: Any) -> Any:
    destination: dict[str, Any] = {"country": country}
    if postal_code is not None:
        destination["postal_code"] = postal_code
    body: dict[str, Any] = {
        "destination": destination,
        "items": [{"product_id": "brass-compass", "quantity": 1}],
    }
    body.update(changes)
    return body


async def test_a_quote_lists_standard_then_express_in_usd(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/quotes", json=quote_body())
    assert response.status_code == 200, response.text
    assert response.json() == {
        "zone": "europe",
        "options": [
            {
                "id": "standard",
                "name": "Standard",
                "price": {"amount": 1499, "currency": "USD"},
                "days": {"min": 6, "max": 10},
            },
            {
                "id": "express",
                "name": "Express",
                "price": {"amount": 3499, "currency": "USD"},
                "days": {"min": 2, "max": 4},
            },
        ],
    }


async def test_every_further_unit_adds_to_the_price(client: httpx.AsyncClient) -> None:
    items = [
        {"product_id": "brass-compass", "quantity": 3},
        {"product_id": "wool-socks", "quantity": 2},
    ]
    response = await client.post("/v1/quotes", json=quote_body(items=items))
    prices = {o["id"]: o["price"]["amount"] for o in response.json()["options"]}
    assert prices == {"standard": 1499 + 4 * 250, "express": 3499 + 4 * 500}


@pytest.mark.parametrize(
    ("country", "postal_code", "zone", "standard"),
    [
        ("US", "94103", "domestic", 599),
        ("US", "22162-1010", "domestic", 599),
        ("CA", "h3z 2y7", "north-america", 1299),
        ("GB", "  ec1y   8sy ", "europe", 1499),
        ("de", "10115", "europe", 1499),
        ("JP", "154-0023", "asia-pacific", 1799),
        ("HK", None, "asia-pacific", 1799),
        ("BR", "40301-110", "rest-of-world", 2199),
    ],
)
async def test_the_price_depends_on_the_zone(
    client: httpx.AsyncClient, country: str, postal_code: str | None, zone: str, standard: int
) -> None:
    response = await client.post("/v1/quotes", json=quote_body(country, postal_code))
    assert response.status_code == 200, response.text
    assert response.json()["zone"] == zone
    assert response.json()["options"][0]["price"] == {"amount": standard, "currency": "USD"}


@pytest.mark.parametrize(
    ("country", "postal_code", "field"),
    [
        ("AQ", None, "destination.country"),  # explicitly not served
        ("ZZ", "12345", "destination.country"),  # no such country in the table
        ("KP", "12345", "destination.country"),  # a real country Mosaic does not ship to
        ("Germany", "10115", "destination.country"),
        ("DE", "1011", "destination.postal_code"),
        ("DE", "101155", "destination.postal_code"),
        ("DE", "ABCDE", "destination.postal_code"),
        ("DE", None, "destination.postal_code"),
        ("DE", "  ", "destination.postal_code"),
        ("US", "9410", "destination.postal_code"),
        ("GB", "10115", "destination.postal_code"),
        ("NL", "1234 SA", "destination.postal_code"),  # SA, SD and SS are never used
    ],
)
async def test_a_destination_not_served_is_422_with_the_field(
    client: httpx.AsyncClient, country: str, postal_code: str | None, field: str
) -> None:
    response = await client.post("/v1/quotes", json=quote_body(country, postal_code))
    problem = assert_problem(response, 422, "destination-not-served")
    assert problem["field"] == field
    assert problem["errors"] == [{"location": f"body.{field}", "message": problem["detail"]}]


async def test_antarctica_says_why(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/quotes", json=quote_body("AQ", None))
    assert "Antarctica" in assert_problem(response, 422, "destination-not-served")["detail"]


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"items": []}, "body.items"),
        ({"items": [{"product_id": "a", "quantity": 0}]}, "body.items.0.quantity"),
        ({"items": [{"product_id": "a", "quantity": 11}]}, "body.items.0.quantity"),
        ({"items": [{"product_id": "a", "quantity": -1}]}, "body.items.0.quantity"),
        ({"items": [{"product_id": "a", "quantity": 1.5}]}, "body.items.0.quantity"),
        ({"items": [{"product_id": "a", "quantity": "2"}]}, "body.items.0.quantity"),
        ({"items": [{"product_id": "A B", "quantity": 1}]}, "body.items.0.product_id"),
        ({"items": [{"quantity": 1}]}, "body.items.0.product_id"),
        (
            {"items": [{"product_id": f"p-{n}", "quantity": 1} for n in range(51)]},
            "body.items",
        ),
        (
            {"items": [{"product_id": "a", "quantity": 1}, {"product_id": "a", "quantity": 2}]},
            "body.items",
        ),
        ({"items": None}, "body.items"),
        ({"destination": {"country": 49, "postal_code": "10115"}}, "body.destination.country"),
        ({"destination": {"postal_code": "10115"}}, "body.destination.country"),
        ({"destination": {"country": "", "postal_code": "10115"}}, "body.destination.country"),
        ({"destination": {"country": "DE", "postal_code": "1" * 33}}, "body.destination"),
        ({"destination": "DE"}, "body.destination"),
        ({"extra": 1}, "body.extra"),
    ],
)
async def test_a_bad_body_is_422(
    client: httpx.AsyncClient, changes: dict[str, Any], location: str
) -> None:
    response = await client.post("/v1/quotes", json=quote_body(**changes))
    problem = assert_problem(response, 422, "invalid-request")
    assert any(error["location"].startswith(location) for error in problem["errors"]), problem


@pytest.mark.parametrize(
    "content",
    [b"{", b"", b"[]", b"null", b'{"destination": {"country": "DE"}, "items": [}', b"\xff\xfe"],
)
async def test_malformed_json_is_422(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(
        "/v1/quotes", content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "invalid-request")


async def test_the_largest_order_is_quoted(client: httpx.AsyncClient) -> None:
    items = [{"product_id": f"p-{n}", "quantity": 10} for n in range(50)]
    response = await client.post("/v1/quotes", json=quote_body("US", "94103", items=items))
    assert response.json()["options"][0]["price"]["amount"] == 599 + 499 * 100
