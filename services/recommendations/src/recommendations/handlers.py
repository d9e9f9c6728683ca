"""What a request for recommendations does: find the seeds, fetch candidates, rank."""

from __future__ import annotations

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
    assortment = await products.assortment()
    if product_id is not None:
        seeds = await clients.products(products, [product_id], assortment)
        if not seeds:
            raise ProductNotFound(product_id)
    else:
        seeds = await clients.products(products, sorted(set(exclude)), assortment)
    categories = sorted({str(seed["category"]) for seed in seeds})
    return recommend(seeds, assortment.candidates(categories), exclude=exclude, limit=limit)
