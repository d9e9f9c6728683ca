"""The catalog API's request bodies: a whole product (PUT) and some of its fields (PATCH),
validated at the edge, then turned into the domain's `Product` by the rules in `domain`.

The answers need no models of their own: the domain's frozen dataclasses are serialized by
orjson on the hot path and read by FastAPI for the contract (see `domain`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.domain import (
    BASE_CURRENCY,
    CategorySlug,
    Money,
    Product,
    ProductId,
    ReadOnlyField,
    Tag,
    normalize_tags,
    picture_path,
)

# Postgres text cannot hold NUL; a name is one line.
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
Description = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]
Tags = Annotated[list[Tag], Field(max_length=20)]


class PriceInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Strict: "12" or 12.0 for an amount is a client bug worth hearing about.
    amount: Annotated[
        int, Field(strict=True, ge=0, le=100_000_000, description="integer minor units")
    ]
    currency: Annotated[str, Field(pattern=f"^{BASE_CURRENCY}$", description="always USD")]


class ProductDraft(BaseModel):
    """A whole product, as sent with PUT (create or replace).

    `id` and `picture` may be echoed back from a GET (so read-modify-write works) but not
    changed; unknown fields are refused so a typo never passes silently.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    description: Description
    category: CategorySlug
    price: PriceInput
    tags: Tags = []
    id: ProductId | None = None
    picture: str | None = None

    def to_product(self, product_id: str) -> Product:
        if self.id is not None and self.id != product_id:
            raise ReadOnlyField("id", product_id)
        if self.picture is not None and self.picture != picture_path(product_id):
            raise ReadOnlyField("picture", picture_path(product_id))
        return Product(
            id=product_id,
            name=self.name.strip(),
            description=self.description.strip(),
            category=self.category,
            price=Money(self.price.amount, self.price.currency),
            picture=picture_path(product_id),
            tags=normalize_tags(self.tags),
        )


class ProductChanges(BaseModel):
    """Some fields of a product, as sent with PATCH; what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name | None = None
    description: Description | None = None
    category: CategorySlug | None = None
    price: PriceInput | None = None
    tags: Tags | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_nulls(cls, value: object) -> object:
        # Every field of a product is required, so null cannot mean "remove" here.
        if value is None:
            raise ValueError("null is not allowed; leave the field out to keep it as it is")
        return value

    def apply_to(self, product: Product) -> Product:
        return replace(
            product,
            name=product.name if self.name is None else self.name.strip(),
            description=(
                product.description if self.description is None else self.description.strip()
            ),
            category=product.category if self.category is None else self.category,
            price=(
                product.price
                if self.price is None
                else Money(self.price.amount, self.price.currency)
            ),
            tags=product.tags if self.tags is None else normalize_tags(self.tags),
        )
