"""The outgoing calls: reading catalog's assortment, and a product it does not hold.

`Catalog` is the port the handler uses; `CatalogClient` is the adapter over the chassis
client, a resource opened in the lifespan. An answer is checked for the keys it reads
(`CatalogProduct`, also what `reads.py` declares) and then kept as catalog sent it.

The client keeps the last assortment catalog sent and its ETag (catalog's cache generation)
and asks again on every request with If-None-Match: catalog answers 304, one Valkey read
on its side, until a write changes the catalog, and then the new assortment. So a write
still shows at once, on every replica, and a product page costs catalog one short call
instead of a product and two listings of up to 100 products (~30 kB each).
"""

from __future__ import annotations

from typing import Any, Protocol

from chassis import UpstreamStatusError, UpstreamUnavailable
from chassis.client import ClientResource
from chassis.concurrency import all_of
from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from recommendations.domain import Assortment, Product


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Money(_Read):
    amount: StrictInt
    currency: str


class CatalogProduct(_Read):
    """The keys of catalog's product the ranking and the answer read (`domain.py`,
    `schemas.py`); checked on arrival, the product itself is kept as catalog sent it."""

    id: str
    name: str
    category: str
    price: _Money
    picture: str
    tags: list[str] = []


class CatalogAssortment(_Read):
    items: list[CatalogProduct]


class Catalog(Protocol):
    async def product(self, product_id: str) -> Product | None:
        """The product, or None if catalog has no such product; raises when catalog is down."""
        ...

    async def assortment(self) -> Assortment:
        """Catalog's assortment as it stands now; raises when catalog is down."""
        ...


class CatalogClient(ClientResource):
    """`Catalog` from catalog's `GET /v1/assortment` and `GET /v1/products/{id}`."""

    _held: tuple[str, Assortment] | None = None  # the ETag and the assortment it labels

    async def product(self, product_id: str) -> Product | None:
        response = await self.http.request("GET", f"/v1/products/{product_id}")
        if response.status == 404:
            return None
        found: Product = self._ok(response, CatalogProduct)
        return found

    async def assortment(self) -> Assortment:
        held = self._held
        headers = {"If-None-Match": held[0]} if held is not None else None
        response = await self.http.request("GET", "/v1/assortment", headers=headers)
        if response.status == 304 and held is not None:
            return held[1]
        assortment = Assortment(self._ok(response, CatalogAssortment)["items"])
        etag = response.headers.get("etag")
        # No ETag (catalog's Valkey down): nothing to revalidate against, so nothing kept.
        self._held = (etag, assortment) if etag else None
        return assortment

    def _ok(self, response: Any, shape: type[BaseModel]) -> Any:
        """The answer's body, once it has what `shape` reads (else catalog is as good as
        unavailable: a clear 503, not a KeyError deep in the ranking)."""
        if response.status >= 500:
            raise UpstreamUnavailable(self.http.service, f"answered {response.status}")
        if not response.ok:
            raise UpstreamStatusError(self.http.service, response.status, response.json_object())
        body = response.json()
        try:
            shape.model_validate(body)
        except ValidationError as wrong:
            reason = f"answer off the contract ({wrong.error_count()} fields)"
            raise UpstreamUnavailable(self.http.service, reason) from None
        return body


async def products(
    catalog: Catalog, product_ids: list[str], assortment: Assortment
) -> list[Product]:
    """The products that exist among `product_ids`, in that order: from the assortment, and
    those it does not hold fetched from catalog, concurrently."""

    async def one(product_id: str) -> Product | None:
        return assortment.find(product_id) or await catalog.product(product_id)

    found = await all_of(one(product_id) for product_id in product_ids)
    return [product for product in found if product is not None]
