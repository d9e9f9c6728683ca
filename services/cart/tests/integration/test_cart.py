"""A shopper's cart: open, add, change, remove, clear, view; every bound a clear 422."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest
from chassis.testing import assert_problem

from .conftest import BROKEN, Shopper, StandInCatalog, add, open_cart, quantities


async def test_opening_a_cart_is_safe_to_repeat(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    first = await client.post("/v1/carts", headers=shopper.headers)
    again = await client.post("/v1/carts", headers=shopper.headers)
    assert first.status_code == 201
    assert first.headers["location"] == f"/v1/carts/{first.json()['id']}"
    assert again.status_code == 200
    assert (
        again.json()
        == first.json()
        == {
            "id": first.json()["id"],
            "lines": [],
            "line_count": 0,
            "item_count": 0,
        }
    )


async def test_a_cart_is_read_whole_in_one_statement(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    """The reads join the cart to its lines: an empty cart has no lines (not one line of
    NULLs), the lines come in the order they were added, and opening a cart that exists
    answers with its lines, read in the same transaction."""
    shopper, other = visitor(), visitor()
    cart_id = await open_cart(client, shopper)
    empty = await client.get("/v1/carts/current", headers=shopper.headers)
    assert empty.json()["lines"] == []
    assert (await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)).json()["lines"] == []
    await add(client, shopper, cart_id, "wool-socks", 2)
    await add(client, shopper, cart_id, "brass-compass", 1)
    expected = [("wool-socks", 2), ("brass-compass", 1)]
    reopened = await client.post("/v1/carts", headers=shopper.headers)
    current = await client.get("/v1/carts/current", headers=shopper.headers)
    viewed = await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)
    for answer in (reopened, current, viewed):
        assert answer.status_code == 200
        assert answer.json()["id"] == cart_id
        assert [(line["product_id"], line["quantity"]) for line in answer.json()["lines"]] == (
            expected
        )
        assert answer.json()["item_count"] == 3
    assert_problem(
        await client.get(f"/v1/carts/{cart_id}", headers=other.headers), 404, "cart-not-found"
    )


async def test_concurrent_opens_give_one_cart(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    ids = await asyncio.gather(*(open_cart(client, shopper) for _ in range(10)))
    assert len(set(ids)) == 1


async def test_current_cart_is_404_until_there_is_one(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    assert_problem(
        await client.get("/v1/carts/current", headers=shopper.headers), 404, "cart-not-found"
    )
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "wool-socks", 2)
    current = await client.get("/v1/carts/current", headers=shopper.headers)
    assert current.json()["id"] == cart_id
    assert current.json()["item_count"] == 2


async def test_add_change_remove_clear(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    assert quantities(await add(client, shopper, cart_id, "brass-compass", 2)) == {
        "brass-compass": 2
    }
    assert quantities(await add(client, shopper, cart_id, "brass-compass", 3)) == {
        "brass-compass": 5
    }
    added = await add(client, shopper, cart_id, "wool-socks")
    assert quantities(added) == {"brass-compass": 5, "wool-socks": 1}
    assert added.json()["item_count"] == 6
    assert added.json()["line_count"] == 2

    changed = await client.put(
        f"/v1/carts/{cart_id}/items/wool-socks", json={"quantity": 7}, headers=shopper.headers
    )
    assert quantities(changed) == {"brass-compass": 5, "wool-socks": 7}

    removed = await client.delete(
        f"/v1/carts/{cart_id}/items/brass-compass", headers=shopper.headers
    )
    assert removed.status_code == 204
    view = await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)
    assert quantities(view) == {"wool-socks": 7}

    cleared = await client.delete(f"/v1/carts/{cart_id}/items", headers=shopper.headers)
    assert cleared.status_code == 204
    view = await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)
    assert view.json()["lines"] == []


async def test_the_view_stores_no_prices_but_can_embed_current_products(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], db: asyncpg.Connection
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "brass-compass", 2)
    await add(client, shopper, cart_id, "wool-socks")
    await db.execute("INSERT INTO cart_lines VALUES ($1, 'gone-product', 1)", uuid.UUID(cart_id))

    plain = await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)
    assert {line["product"] for line in plain.json()["lines"]} == {None}
    view = await client.get(f"/v1/carts/{cart_id}?include=products", headers=shopper.headers)
    products = {line["product_id"]: line["product"] for line in view.json()["lines"]}
    assert products["brass-compass"]["price"] == {"amount": 1200, "currency": "EUR"}
    assert products["wool-socks"]["name"] == "Wool-Socks"
    assert products["gone-product"] is None  # catalog dropped it since
    current = await client.get("/v1/carts/current?include=products", headers=shopper.headers)
    assert current.json() == view.json()  # a page's one call
    columns = await db.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'cart_lines'"
    )
    assert not any("price" in row["column_name"] for row in columns)


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": "brass-compass", "quantity": 0},
        {"product_id": "brass-compass", "quantity": -1},
        {"product_id": "brass-compass", "quantity": 11},
        {"product_id": "brass-compass", "quantity": 2.5},
        {"product_id": "brass-compass", "quantity": "many"},
        {"product_id": "Brass Compass", "quantity": 1},
        {"product_id": "x" * 65, "quantity": 1},
        {"product_id": "", "quantity": 1},
        {"quantity": 1},
        {"product_id": "brass-compass", "quantity": 1, "price": 1},
    ],
)
async def test_a_bad_item_is_422(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], body: dict[str, object]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    response = await client.post(f"/v1/carts/{cart_id}/items", json=body, headers=shopper.headers)
    assert_problem(response, 422, "invalid-request")


async def test_a_line_never_passes_ten(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "brass-compass", 6)
    body = assert_problem(
        await add(client, shopper, cart_id, "brass-compass", 5), 422, "quantity-out-of-range"
    )
    assert "11" in body["detail"]
    assert quantities(await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)) == {
        "brass-compass": 6
    }


@pytest.mark.parametrize("quantity", [0, 11, -3])
async def test_changing_to_a_quantity_out_of_bounds_is_422(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], quantity: int
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "brass-compass")
    response = await client.put(
        f"/v1/carts/{cart_id}/items/brass-compass",
        json={"quantity": quantity},
        headers=shopper.headers,
    )
    assert_problem(response, 422, "invalid-request")


async def test_changing_a_line_the_cart_does_not_hold_is_404(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    response = await client.put(
        f"/v1/carts/{cart_id}/items/wool-socks", json={"quantity": 2}, headers=shopper.headers
    )
    assert_problem(response, 404, "line-not-found")


async def test_at_most_fifty_lines(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], db: asyncpg.Connection
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await db.executemany(
        "INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES ($1, $2, 1)",
        [(uuid.UUID(cart_id), f"p-{n}") for n in range(49)],
    )
    assert (await add(client, shopper, cart_id, "p-49")).json()["line_count"] == 50
    assert_problem(await add(client, shopper, cart_id, "p-50"), 422, "too-many-lines")
    # More of a product already in the cart is still fine.
    assert quantities(await add(client, shopper, cart_id, "p-49", 2))["p-49"] == 3


async def test_an_unknown_product_is_refused(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], catalog: StandInCatalog
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    body = assert_problem(
        await add(client, shopper, cart_id, "no-such-thing"), 422, "unknown-product"
    )
    assert "no-such-thing" in body["detail"]
    # Catalog was asked, with cart's service token.
    assert ("no-such-thing", catalog.calls[-1][1]) == catalog.calls[-1]
    assert catalog.calls[-1][1]


async def test_every_call_to_catalog_carries_a_service_token(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], catalog: StandInCatalog
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "brass-compass")
    await client.get(f"/v1/carts/{cart_id}?include=products", headers=shopper.headers)
    assert catalog.calls
    assert all(token for _, token in catalog.calls)


async def test_catalog_down_is_503_and_changes_nothing(
    client_without_catalog: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client_without_catalog, shopper)
    body = assert_problem(
        await add(client_without_catalog, shopper, cart_id, "brass-compass"),
        503,
        "upstream-unavailable",
    )
    assert "catalog" in body["detail"]
    view = await client_without_catalog.get(f"/v1/carts/{cart_id}", headers=shopper.headers)
    assert view.json()["lines"] == []


async def test_catalog_failing_is_503(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    assert_problem(await add(client, shopper, cart_id, BROKEN), 503, "upstream-unavailable")


async def test_concurrent_adds_lose_no_update(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    products = ["brass-compass", "wool-socks"] * 10
    answers = await asyncio.gather(*(add(client, shopper, cart_id, p) for p in products))
    assert {response.status_code for response in answers} == {200}
    view = await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)
    assert quantities(view) == {"brass-compass": 10, "wool-socks": 10}


async def test_concurrent_adds_past_the_bound_stop_exactly_at_it(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    answers = await asyncio.gather(
        *(add(client, shopper, cart_id, "brass-compass") for _ in range(20))
    )
    assert sorted(r.status_code for r in answers) == [200] * 10 + [422] * 10
    view = await client.get(f"/v1/carts/{cart_id}", headers=shopper.headers)
    assert quantities(view) == {"brass-compass": 10}
