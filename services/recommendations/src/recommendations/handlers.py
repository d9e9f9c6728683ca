"""What a request for recommendations does: find the seeds, fetch candidates, rank."""

from __future__ import annotations

import asyncio
import contextlib

from recommendations import clients
from recommendations.clients import Catalog
from recommendations.domain import MAX_EXCLUDED, Pick, recommend


class RecommendationError(Exception):
    """A request the rules refuse; the API turns each kind into problem+json."""


class TooManyExcluded(RecommendationError):
    def __init__(self, count: int) -> None:
        super().__init__(f"exclude names {count} products; at most {MAX_EXCLUDED} are allowed.")


class ProductNotFound(RecommendationError):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"There is no product {product_id!r}.")
        self.product_id = product_id


async def for_product_or_cart(
    products: Catalog, product_id: str | None, exclude: list[str], limit: int
) -> list[Pick]:
    """For a product page (`product_id`), or for a cart (no product; `exclude` is the cart).

    An unknown `product_id` is an error; an unknown excluded id is simply nothing to exclude.
    """
    # Catalog's front page does not depend on the seeds: it is asked for alongside them, so
    # a product page waits for two rounds of calls to catalog, not three.
    front = asyncio.ensure_future(products.listing(None))
    try:
        if product_id is not None:
            seed = await products.product(product_id)
            if seed is None:
                raise ProductNotFound(product_id)
            seeds = [seed]
        else:
            seeds = await clients.products(products, sorted(set(exclude)))
        categories = sorted({str(seed["category"]) for seed in seeds})
        found = await clients.candidates(products, categories, front=await front)
    finally:
        # Not needed after all (a failure first): stopped, and its outcome collected.
        front.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await front
    return recommend(seeds, found, exclude=exclude, limit=limit)
