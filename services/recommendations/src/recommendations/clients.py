"""The one outgoing call: reading products from catalog.

`Catalog` is the port the handler uses; `CatalogClient` is the adapter over the chassis
client, a resource opened in the lifespan. Nothing catalog answers is kept after a request.
"""

from __future__ import annotations

from typing import Any, Protocol

from chassis import UpstreamStatusError, UpstreamUnavailable
from chassis.client import ClientResource
from chassis.concurrency import all_of

from recommendations.domain import Product

# Catalog's largest page: one call brings a whole category, or the front of the catalog.
PAGE_SIZE = 100


class Catalog(Protocol):
    async def product(self, product_id: str) -> Product | None:
        """The product, or None if catalog has no such product; raises when catalog is down."""
        ...

    async def listing(self, category: str | None) -> list[Product]:
        """The first page of a category (or of the whole catalog), in catalog's order."""
        ...


class CatalogClient(ClientResource):
    """`Catalog` from catalog's `GET /v1/products` and `GET /v1/products/{id}`."""

    async def product(self, product_id: str) -> Product | None:
        response = await self.http.request("GET", f"/v1/products/{product_id}")
        if response.status == 404:
            return None
        found: Product = self._ok(response)
        return found

    async def listing(self, category: str | None) -> list[Product]:
        params: dict[str, Any] = {"page_size": PAGE_SIZE}
        if category is not None:
            params["category"] = category
        response = await self.http.request("GET", "/v1/products", params=params)
        if response.status == 404:  # the category went away since the product named it
            return []
        items: list[Product] = self._ok(response)["items"]
        return items

    def _ok(self, response: Any) -> Any:
        if response.status >= 500:
            raise UpstreamUnavailable(self.http.service, f"answered {response.status}")
        if not response.ok:
            raise UpstreamStatusError(self.http.service, response.status, response.json_object())
        return response.json()


async def products(catalog: Catalog, product_ids: list[str]) -> list[Product]:
    """The products that exist among `product_ids`, fetched concurrently, in that order."""
    found = await all_of(catalog.product(product_id) for product_id in product_ids)
    return [product for product in found if product is not None]


async def candidates(
    catalog: Catalog, categories: list[str], *, front: list[Product]
) -> list[Product]:
    """Each category's listing (fetched concurrently), then the front of the catalog, which
    the caller has read alongside its seeds."""
    listings = await all_of(catalog.listing(category) for category in categories)
    return [product for listing in [*listings, front] for product in listing]
