"""The ranking rules, on plain product dicts as catalog sends them."""

from __future__ import annotations

from typing import Any

import pytest
from recommendations.domain import LISTING_SIZE, MAX_LIMIT, Assortment, recommend


def product(product_id: str, category: str, *tags: str) -> dict[str, Any]:
    return {"id": product_id, "category": category, "tags": list(tags)}


POUR_OVER = product("pour-over", "kitchen", "coffee", "ceramic")
# Catalog's order: by name, then id.
CATALOG = [
    product("apron", "kitchen", "cotton"),
    product("compass", "outdoors", "brass"),
    product("kettle", "kitchen", "coffee", "tea"),
    product("mug", "kitchen", "coffee", "ceramic"),
    POUR_OVER,
    product("socks", "clothing", "wool"),
    product("tent", "outdoors", "coffee"),
]


def ids(picks: list[Any]) -> list[str]:
    return [pick.product["id"] for pick in picks]


def test_the_same_category_comes_first_more_shared_tags_first() -> None:
    picks = recommend([POUR_OVER], CATALOG, limit=MAX_LIMIT)

    assert ids(picks) == ["mug", "kettle", "apron", "tent", "compass", "socks"]
    assert [pick.reason for pick in picks] == ["same-category"] * 3 + ["popular"] * 3


def test_never_the_product_itself_nor_anything_excluded() -> None:
    picks = recommend([POUR_OVER], CATALOG, exclude=["mug", "tent"], limit=MAX_LIMIT)

    assert ids(picks) == ["kettle", "apron", "compass", "socks"]


def test_at_most_the_limit() -> None:
    assert ids(recommend([POUR_OVER], CATALOG, limit=2)) == ["mug", "kettle"]
    assert len(recommend([POUR_OVER], CATALOG)) == 4


@pytest.mark.parametrize("limit", [0, MAX_LIMIT + 1])
def test_a_limit_out_of_bounds_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        recommend([POUR_OVER], CATALOG, limit=limit)


def test_a_product_listed_twice_is_suggested_once() -> None:
    twice = [*CATALOG, *CATALOG]

    assert ids(recommend([POUR_OVER], twice, limit=MAX_LIMIT)) == ids(
        recommend([POUR_OVER], CATALOG, limit=MAX_LIMIT)
    )


def test_the_order_is_the_same_whatever_the_order_of_equal_candidates_seen_first() -> None:
    first = recommend([POUR_OVER], CATALOG, limit=MAX_LIMIT)
    again = recommend([POUR_OVER], list(CATALOG), limit=MAX_LIMIT)

    assert ids(first) == ids(again)


def test_for_a_cart_every_seed_category_counts_and_no_seed_is_suggested() -> None:
    cart = [product("socks", "clothing", "wool"), product("compass", "outdoors", "brass")]

    picks = recommend(cart, CATALOG, exclude=["socks", "compass"], limit=3)

    assert ids(picks) == ["tent", "apron", "kettle"]
    assert [pick.reason for pick in picks] == ["same-category", "popular", "popular"]


def test_without_seeds_it_is_the_front_of_the_catalog() -> None:
    assert ids(recommend([], CATALOG, limit=3)) == ["apron", "compass", "kettle"]


def test_the_assortment_lists_as_catalog_would() -> None:
    # Catalog's order: a full kitchen first, then one more category beyond the front page.
    kitchen = [product(f"k-{n:03}", "kitchen") for n in range(LISTING_SIZE + 5)]
    items = [*kitchen, product("tent", "outdoors")]

    assortment = Assortment(items)

    assert assortment.listing("kitchen") == kitchen[:LISTING_SIZE]
    assert assortment.listing("outdoors") == [items[-1]]
    assert assortment.listing("gone") == []
    assert assortment.front == kitchen[:LISTING_SIZE]
    assert assortment.candidates(["outdoors"]) == [items[-1], *kitchen[:LISTING_SIZE]]
    assert assortment.find("tent") == items[-1]
    assert assortment.find("no-such-thing") is None
