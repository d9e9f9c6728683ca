"""What a request for recommendations does: find the seeds, fetch candidates, rank."""

from __future__ import annotations

import orjson

from recommendations import clients
from recommendations.clients import Catalog
from recommendations.domain import MAX_EXCLUDED, recommend
from recommendations.schemas import recommendation_list


class RecommendationError(Exception):
    """A request the rules refuse; the API turns each kind into problem+json."""


class TooManyExcluded(RecommendationError):
    def __init__(self, count: int) -> None:
        super().__init__(f"exclude names {count} products; at most {MAX_EXCLUDED} are allowed.")


class ExcludedIdTooLong(RecommendationError):
    def __init__(self, product_id: str, most: int) -> None:
        super().__init__(f"exclude names {product_id[:20]!r}..., longer than any product id "
                         f"({most} characters).")  # fmt: skip


class ProductNotFound(RecommendationError):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"There is no product {product_id!r}.")
        self.product_id = product_id


async def for_product_or_cart(
    products: Catalog, product_id: str | None, exclude: list[str], limit: int
) -> bytes:
    """For a product page (`product_id`), or for a cart (no product; `exclude` is the cart):
    the answer's JSON body.

    An unknown `product_id` is an error; an unknown excluded id is simply nothing to exclude.
    An answer made from the assortment alone is kept with it, and served again while catalog
    confirms that assortment is current (so it too changes at once with a write).
    """
    assortment = await products.assortment()
    wanted = sorted(set(exclude))
    key = (product_id, tuple(wanted), limit)
    if (answer := assortment.answers.get(key)) is not None:
        return answer
    ids = [product_id] if product_id is not None else wanted
    seeds = await clients.products(products, ids, assortment)
    if product_id is not None and not seeds:
        raise ProductNotFound(product_id)
    categories = sorted({str(seed["category"]) for seed in seeds})
    picks = recommend(seeds, assortment.candidates(categories), exclude=wanted, limit=limit)
    answer = orjson.dumps(recommendation_list(picks))
    if all(assortment.find(one) is not None for one in ids):  # nothing read beside it
        assortment.remember(key, answer)
    return answer
