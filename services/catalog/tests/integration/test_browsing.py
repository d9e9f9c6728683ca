"""Browsing: categories, product pages, one product, and what a bad request gets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from catalog.domain import CategoryList, Product, ProductPage
from pydantic import TypeAdapter

SEEDED = 30


async def test_categories_with_counts_in_shop_order(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/categories")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    items = response.json()["items"]
    assert [c["slug"] for c in items] == [
        "kitchen",
        "home",
        "outdoor",
        "stationery",
        "tech",
        "apparel",
    ]
    assert sum(c["product_count"] for c in items) == SEEDED
    assert all(c["product_count"] >= 4 and c["name"] and c["description"] for c in items)


async def test_one_product_in_the_contract_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/products/ceramic-pour-over")
    assert response.status_code == 200
    assert response.json() == {
        "id": "ceramic-pour-over",
        "name": "Ceramic Pour-Over Dripper",
        "description": response.json()["description"],
        "category": "kitchen",
        "price": {"amount": 2400, "currency": "USD"},
        "picture": "/v1/pictures/ceramic-pour-over.svg",
        "tags": ["coffee", "pour-over", "ceramic", "brewing"],
    }


async def test_unknown_product_is_a_404_problem(client: httpx.AsyncClient, problem: Any) -> None:
    response = await client.get("/v1/products/no-such-thing")
    body = problem(response, 404, "product-not-found")
    assert body["instance"] == "/v1/products/no-such-thing"


async def test_a_malformed_product_id_is_refused(client: httpx.AsyncClient, problem: Any) -> None:
    problem(await client.get("/v1/products/Not_An_Id"), 422, "invalid-request")
    problem(await client.get(f"/v1/products/{'a' * 65}"), 422, "invalid-request")


async def test_pages_cover_every_product_once(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        body = (await client.get("/v1/products", params={"page": page, "page_size": 8})).json()
        assert body["total"] == SEEDED
        assert (body["page"], body["page_size"]) == (page, 8)
        seen += [p["id"] for p in body["items"]]
    assert len(seen) == SEEDED == len(set(seen))
    names = [(await client.get(f"/v1/products/{id_}")).json()["name"] for id_ in seen[:8]]
    assert names == sorted(names)


async def test_last_page_is_partial_and_past_the_end_is_empty(client: httpx.AsyncClient) -> None:
    last = (await client.get("/v1/products", params={"page": 3, "page_size": 12})).json()
    assert len(last["items"]) == SEEDED - 24
    assert last["total"] == SEEDED
    past = (await client.get("/v1/products", params={"page": 4, "page_size": 12})).json()
    assert past == {"items": [], "page": 4, "page_size": 12, "total": SEEDED}


async def test_page_size_bounds(client: httpx.AsyncClient) -> None:
    one = (await client.get("/v1/products", params={"page_size": 1})).json()
    assert len(one["items"]) == 1
    everything = (await client.get("/v1/products", params={"page_size": 100})).json()
    assert len(everything["items"]) == SEEDED
    default = (await client.get("/v1/products")).json()
    assert (default["page"], default["page_size"], len(default["items"])) == (1, 24, 24)


async def test_a_category_page(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/products", params={"category": "stationery"})).json()
    assert body["total"] == len(body["items"]) == 4
    assert {p["category"] for p in body["items"]} == {"stationery"}


async def test_an_unknown_category_is_a_404_problem(
    client: httpx.AsyncClient, problem: Any
) -> None:
    response = await client.get("/v1/products", params={"category": "garden-gnomes"})
    problem(response, 404, "category-not-found")


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": -1},
        {"page": "two"},
        {"page": 10_001},
        {"page_size": 0},
        {"page_size": 101},
        {"page_size": "1.5"},
        {"category": "Kitchen"},
        {"category": "../etc"},
    ],
)
async def test_bad_query_parameters_are_422_problems(
    client: httpx.AsyncClient, problem: Any, params: dict[str, object]
) -> None:
    body = problem(await client.get("/v1/products", params=params), 422, "invalid-request")
    assert body["errors"]  # says which parameter and why


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/categories", CategoryList),
        ("/v1/products?page_size=100", ProductPage),
        ("/v1/products/chefs-knife", Product),
        ("/v1/search?q=wood", ProductPage),
    ],
)
async def test_bodies_match_the_published_schema(
    client: httpx.AsyncClient, path: str, shape: type[Any]
) -> None:
    # The bodies are serialized by orjson, the contract is written by pydantic from the
    # same classes: this keeps the two honest, constraints included.
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    adapter = TypeAdapter(shape)
    parsed = adapter.validate_json(answer.content, strict=False)
    # Nothing in the body that the schema lacks (validation alone ignores extra fields),
    # and something to check: a page or list with no items would prove nothing.
    assert adapter.dump_python(parsed, mode="json") == answer.json()
    assert getattr(parsed, "items", (parsed,)), f"{path} is empty"
