"""What a request does, against an in-memory catalog: which answers are kept, and why."""

from __future__ import annotations

from typing import Any

import orjson
from recommendations.domain import Assortment, Product
from recommendations.handlers import for_product_or_cart


def product(product_id: str, category: str) -> Product:
    return {
        "id": product_id,
        "name": product_id,
        "category": category,
        "price": {"amount": 100, "currency": "USD"},
        "picture": f"/v1/pictures/{product_id}.svg",
        "tags": [],
    }


class InMemoryCatalog:
    """The `Catalog` port: an assortment, and products only reachable by id."""

    def __init__(self, held: list[Product], by_id_only: list[Product]) -> None:
        self.held = Assortment(held)
        self.by_id = {p["id"]: p for p in [*held, *by_id_only]}
        self.product_calls: list[str] = []

    async def assortment(self) -> Assortment:
        return self.held

    async def product(self, product_id: str) -> Product | None:
        self.product_calls.append(product_id)
        return self.by_id.get(product_id)


def catalog() -> InMemoryCatalog:
    held = [product("apron", "kitchen"), product("mug", "kitchen"), product("tent", "outdoors")]
    return InMemoryCatalog(held, [product("zz-kettle", "kitchen")])


async def test_an_answer_from_the_assortment_alone_is_kept_with_it() -> None:
    shop = catalog()

    first = await for_product_or_cart(shop, "mug", [], 4)
    again = await for_product_or_cart(shop, "mug", [], 4)

    assert [item["id"] for item in orjson.loads(first)["items"]] == ["apron", "tent"]
    assert again is first  # served as kept, not ranked and serialised again
    assert shop.product_calls == []


async def test_an_answer_that_needed_a_product_by_id_is_not_kept() -> None:
    shop = catalog()

    answer: Any = orjson.loads(await for_product_or_cart(shop, "zz-kettle", [], 4))

    assert [item["id"] for item in answer["items"]] == ["apron", "mug", "tent"]
    assert shop.product_calls == ["zz-kettle"]
    assert shop.held.answers == {}
