"""The shapes of the API's bodies: what callers send and what they get back."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cart.clients import Product
from cart.domain import (
    MAX_LINES,
    MAX_PRODUCT_ID_LENGTH,
    MAX_QUANTITY,
    MIN_QUANTITY,
    PRODUCT_ID_PATTERN,
    Cart,
    Line,
)

ProductId = Annotated[
    str,
    Field(
        pattern=PRODUCT_ID_PATTERN,
        max_length=MAX_PRODUCT_ID_LENGTH,
        description="catalog's product id",
        examples=["ceramic-pour-over"],
    ),
]
Quantity = Annotated[
    int, Field(ge=MIN_QUANTITY, le=MAX_QUANTITY, description="units of this product (1..10)")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemToAdd(_Body):
    product_id: ProductId
    quantity: Annotated[
        int,
        Field(
            ge=MIN_QUANTITY,
            le=MAX_QUANTITY,
            description="units to add to what the cart holds; the line may not pass 10",
        ),
    ] = 1


class QuantityChange(_Body):
    quantity: Quantity


class OrderedLine(_Body):
    product_id: ProductId
    quantity: Quantity


class OrderedLines(_Body):
    """What an order bought from this cart: the units to take out of it."""

    lines: Annotated[list[OrderedLine], Field(max_length=MAX_LINES)]

    @field_validator("lines")
    @classmethod
    def _one_line_per_product(cls, lines: list[OrderedLine]) -> list[OrderedLine]:
        if len({line.product_id for line in lines}) != len(lines):
            raise ValueError("each product may appear once")
        return lines

    def as_lines(self) -> tuple[Line, ...]:
        return tuple(Line(line.product_id, line.quantity) for line in self.lines)


class LineView(BaseModel):
    product_id: str
    quantity: int
    product: dict[str, Any] | None = Field(
        default=None,
        description=(
            "catalog's current product (name, price, ...), with `include=products` only; "
            "null when catalog no longer has it"
        ),
    )


class CartView(BaseModel):
    id: str = Field(description="the cart's id (uuid)")
    lines: list[LineView]
    line_count: int = Field(description="different products in the cart")
    item_count: int = Field(description="units over all lines")


def cart_view(cart: Cart, products: dict[str, Product | None] | None = None) -> CartView:
    return CartView(
        id=cart.id,
        lines=[
            LineView(
                product_id=line.product_id,
                quantity=line.quantity,
                product=products.get(line.product_id) if products is not None else None,
            )
            for line in cart.lines
        ],
        line_count=len(cart.lines),
        item_count=sum(line.quantity for line in cart.lines),
    )
