"""GET /v1/recommendations against the stand-in catalog: ranking, bad input, and catalog
down or slow."""

from __future__ import annotations

import time

import httpx
import pytest
from chassis.testing import assert_problem

from .conftest import BROKEN, SLOW, StandInCatalog

PATH = "/v1/recommendations"


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_same_category_first_then_popular(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"product_id": "ceramic-pour-over", "limit": 12})

    assert ids(response) == [
        "mug",  # kitchen, shares two tags
        "kettle",  # kitchen, shares one tag
        "apron",  # kitchen, in catalog's order
        "brass-compass",  # then catalog's front page, in its order
        "notebook",
        "tent",
        "wool-socks",
    ]
    reasons = [item["reason"] for item in response.json()["items"]]
    assert reasons == ["same-category"] * 3 + ["popular"] * 4


async def test_an_item_carries_what_a_block_shows(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"product_id": "ceramic-pour-over", "limit": 1})

    assert response.json() == {
        "items": [
            {
                "id": "mug",
                "name": "Mug",
                "category": "kitchen",
                "price": {"amount": 1200, "currency": "USD"},
                "picture": "/v1/pictures/mug.svg",
                "reason": "same-category",
            }
        ]
    }


async def test_four_by_default_and_the_same_answer_every_time(client: httpx.AsyncClient) -> None:
    first = await client.get(PATH, params={"product_id": "tent"})
    again = await client.get(PATH, params={"product_id": "tent"})

    assert ids(first) == ["brass-compass", "apron", "ceramic-pour-over", "kettle"]
    assert ids(again) == ids(first)


async def test_never_the_product_nor_what_is_excluded(client: httpx.AsyncClient) -> None:
    response = await client.get(
        PATH, params={"product_id": "ceramic-pour-over", "exclude": "mug,tent,mug", "limit": 12}
    )

    assert ids(response) == ["kettle", "apron", "brass-compass", "notebook", "wool-socks"]


async def test_for_a_cart_the_excluded_products_are_the_context(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(PATH, params={"exclude": "brass-compass,no-such-thing"})

    assert ids(response) == ["tent", "apron", "ceramic-pour-over", "kettle"]


async def test_with_nothing_to_go_on_it_is_the_front_of_the_catalog(
    client: httpx.AsyncClient,
) -> None:
    assert ids(await client.get(PATH, params={"limit": 2})) == ["apron", "brass-compass"]


async def test_an_unknown_product_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"product_id": "no-such-thing"})

    body = assert_problem(response, 404, "product-not-found")
    assert body["product_id"] == "no-such-thing"


@pytest.mark.parametrize(
    "params",
    [
        {"product_id": "Not A Slug"},
        {"product_id": "x" * 65},
        {"product_id": ""},
        {"exclude": "mug,,tent"},
        {"exclude": "mug;tent"},
        {"exclude": ",".join(f"p-{n}" for n in range(51))},
        {"exclude": "mug," + "x" * 65},  # no product id is that long (found by fuzzing: 502)
        {"limit": 0},
        {"limit": 13},
        {"limit": "four"},
    ],
)
async def test_bad_input_is_422(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    response = await client.get(PATH, params=params)

    assert_problem(response, 422, "invalid-request")


async def test_the_calls_to_catalog_carry_recommendations_token(
    client: httpx.AsyncClient, catalog: StandInCatalog
) -> None:
    catalog.callers.clear()

    await client.get(PATH, params={"product_id": "mug"})

    assert catalog.callers
    assert set(catalog.callers) == {"recommendations"}


async def test_catalog_down_is_503(client_without_catalog: httpx.AsyncClient) -> None:
    response = await client_without_catalog.get(PATH, params={"product_id": "mug"})

    body = assert_problem(response, 503, "upstream-unavailable")
    assert body["service"] == "catalog"


async def test_catalog_failing_is_503(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"product_id": BROKEN})

    assert_problem(response, 503, "upstream-unavailable")


async def test_catalog_slow_is_504_within_the_deadline(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await client.get(PATH, params={"product_id": SLOW})
    elapsed = time.monotonic() - started

    assert_problem(response, 504, "upstream-timeout")
    assert elapsed < 1.2  # the 800 ms budget, not the stand-in's 5 s


async def test_a_slow_product_among_a_carts_is_504_not_500(client: httpx.AsyncClient) -> None:
    # The cart's products are read concurrently; the one that times out is the answer,
    # not a group of failures (which no handler knows, so it was a 500).
    response = await client.get(PATH, params={"exclude": ["mug", SLOW]})

    assert_problem(response, 504, "upstream-timeout")


async def test_a_caller_deadline_shortens_the_wait(client: httpx.AsyncClient) -> None:
    deadline = int((time.time() + 0.2) * 1000)
    started = time.monotonic()
    response = await client.get(
        PATH, params={"product_id": SLOW}, headers={"x-deadline": str(deadline)}
    )

    assert response.status_code in (503, 504)
    assert time.monotonic() - started < 0.6


async def test_a_product_page_costs_catalog_one_short_call(
    client: httpx.AsyncClient, catalog: StandInCatalog
) -> None:
    await client.get(PATH, params={"product_id": "mug"})
    catalog.calls.clear()

    response = await client.get(PATH, params={"product_id": "kettle"})

    assert response.status_code == 200
    # The assortment held is still catalog's: a 304, no product, no listing.
    assert catalog.calls == [("/v1/assortment", 304)]


async def test_a_catalog_write_shows_at_once(
    client: httpx.AsyncClient, catalog: StandInCatalog
) -> None:
    params: dict[str, str | int] = {"product_id": "ceramic-pour-over", "limit": 1}
    before = (await client.get(PATH, params=params)).json()["items"][0]
    assert before["id"] == "mug"
    mug = catalog.by_id["mug"]

    catalog.write({**mug, "price": {"amount": 999, "currency": "USD"}})
    try:
        after = (await client.get(PATH, params=params)).json()["items"][0]
    finally:
        catalog.write(mug)

    assert after["price"] == {"amount": 999, "currency": "USD"}


async def test_a_product_off_catalogs_contract_is_503_not_500(
    client: httpx.AsyncClient, catalog: StandInCatalog
) -> None:
    # Without a price the answer cannot be ranked or shown: catalog answered, but not
    # as its contract says, which the client reports as catalog unavailable.
    catalog.off_contract = True
    odd = {k: v for k, v in catalog.by_id["mug"].items() if k != "price"}
    catalog.write({**odd, "id": "odd-mug"})
    try:
        response = await client.get(PATH, params={"product_id": "odd-mug"})
    finally:
        del catalog.by_id["odd-mug"]
        catalog.generation += 1

    body = assert_problem(response, 503, "upstream-unavailable")
    assert body["service"] == "catalog"
