"""The ranking rules: which products to suggest, and in what order. No I/O.

Given the products a shopper is looking at (the *seeds*: the product on the page, or the
products in a cart) and candidates from catalog in catalog's own listing order:

1. never a seed, nor anything excluded (already in the cart), nor the same product twice;
2. products in a seed's category come first ("same category");
3. then the rest ("popular"). Catalog records no sales, views or ratings, so there is no
   honest popularity figure to rank by; "popular" is catalog's default listing order (by
   name, then id), the order its front page shows a visitor;
4. within each tier, more tags shared with the seeds first, then catalog's order;
5. at most `limit`.

Catalog's order is total (its last key is the unique id), so the same catalog gives the
same answer every time, on every replica.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_LIMIT = 4
MAX_LIMIT = 12
MAX_EXCLUDED = 50  # the most lines a cart holds
LISTING_SIZE = 100  # catalog's largest page: a category's listing, or its front page
MAX_ANSWERS = 1024  # answers kept per assortment (a product page's, a cart's)

Product = dict[str, Any]  # catalog's product as it answered
Reason = Literal["same-category", "popular"]


@dataclass(frozen=True, slots=True)
class Pick:
    product: Product
    reason: Reason


class Assortment:
    """Catalog's assortment (`GET /v1/assortment`): products in catalog's listing order,
    holding every category's first `LISTING_SIZE` and the catalog's first `LISTING_SIZE`,
    so each of those listings is its items filtered, as catalog would list them."""

    def __init__(self, items: Sequence[Product]) -> None:
        self.front = list(items[:LISTING_SIZE])
        self._by_id = {str(product["id"]): product for product in items}
        self._listings: dict[str, list[Product]] = {}
        for product in items:
            listing = self._listings.setdefault(str(product["category"]), [])
            if len(listing) < LISTING_SIZE:
                listing.append(product)
        # Answers made from this assortment alone: it never changes, so neither do they.
        self.answers: dict[Hashable, bytes] = {}

    def remember(self, key: Hashable, answer: bytes) -> None:
        if len(self.answers) >= MAX_ANSWERS:
            self.answers.clear()
        self.answers[key] = answer

    def find(self, product_id: str) -> Product | None:
        """The product if the assortment holds it; None says nothing about whether it exists
        (a category's 101st product is not held)."""
        return self._by_id.get(product_id)

    def listing(self, category: str) -> list[Product]:
        return self._listings.get(category, [])

    def candidates(self, categories: Iterable[str]) -> list[Product]:
        """Each category's listing, then the front of the catalog."""
        return [product for category in categories for product in self.listing(category)] + [
            *self.front
        ]


def recommend(
    seeds: Sequence[Product],
    candidates: Iterable[Product],
    *,
    exclude: Iterable[str] = (),
    limit: int = DEFAULT_LIMIT,
) -> list[Pick]:
    """The products to suggest, best first; `candidates` in catalog's listing order."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    unwanted = {str(seed["id"]) for seed in seeds} | set(exclude)
    categories = {seed.get("category") for seed in seeds}
    tags = {tag for seed in seeds for tag in seed.get("tags", ())}
    ranked: list[tuple[tuple[int, int, int], Pick]] = []
    for position, product in enumerate(_unique(candidates)):
        if product["id"] in unwanted:
            continue
        same = product.get("category") in categories
        shared = len(tags.intersection(product.get("tags", ())))
        reason: Reason = "same-category" if same else "popular"
        ranked.append(((0 if same else 1, -shared, position), Pick(product, reason)))
    ranked.sort(key=lambda entry: entry[0])
    return [pick for _, pick in ranked[:limit]]


def _unique(candidates: Iterable[Product]) -> Iterable[Product]:
    # A product can come in twice (its category's listing and the front page): the first
    # sighting keeps its place.
    seen: set[str] = set()
    for product in candidates:
        if product["id"] not in seen:
            seen.add(product["id"])
            yield product
