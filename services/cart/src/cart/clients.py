"""The cart's one outgoing call: asking catalog about products.

`Products` is the port the handlers use; `CatalogProducts` is the adapter over the chassis
client. The cart stores no product data: it asks whether a product exists before adding
it, and fetches current products (concurrently) only when a view asks for them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from chassis import UpstreamStatusError, UpstreamUnavailable
from chassis.client import ClientResource

Product = dict[str, Any]  # catalog's product as it answered; passed through, never stored


class Products(Protocol):
    async def find(self, product_id: str) -> Product | None:
        """The product, or None if catalog has no such product; raises when catalog is down."""
        ...


class CatalogProducts(ClientResource):
    """`Products` from catalog's `GET /v1/products/{id}`; a resource opened in the lifespan."""

    async def find(self, product_id: str) -> Product | None:
        response = await self.http.request("GET", f"/v1/products/{product_id}")
        if response.status == 404:
            return None
        if response.status >= 500:
            raise UpstreamUnavailable(self.http.service, f"answered {response.status}")
        if not response.ok:
            raise UpstreamStatusError(self.http.service, response.status, response.json_object())
        found: Product = response.json()
        return found


async def find_all(products: Products, product_ids: list[str]) -> dict[str, Product | None]:
    """Each product, fetched concurrently: a cart page costs one round trip, not one per line."""
    found = await asyncio.gather(*(products.find(product_id) for product_id in product_ids))
    return dict(zip(product_ids, found, strict=True))
