"""The shapes of the API's bodies: what callers send and what they get back."""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shipping.domain import (
    CURRENCY,
    MAX_ITEMS,
    MAX_PRODUCT_ID_LENGTH,
    MAX_QUANTITY,
    MIN_QUANTITY,
    PRODUCT_ID_PATTERN,
    Option,
    Quote,
    Shipment,
    Status,
)
from shipping.tracking import PATTERN as TRACKING_PATTERN

# Reference: whose shipment, in the caller's words, e.g. "order:<uuid>".
REFERENCE_PATTERN = r"^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9._-]{1,128}$"


# Printable text: trimmed, not empty, no control characters (it is printed on labels).
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_PRINTABLE)
]
City = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_PRINTABLE)
]
CountryCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="ISO 3166-1 alpha-2 code, e.g. DE; one Mosaic does not deliver to is "
        "422 destination-not-served",
        examples=["DE"],
    ),
]
PostalCode = Annotated[
    str | None,
    Field(
        max_length=32,
        description="must match the country's postal code format (spaces and case are free); "
        "may be left out only where the country has no postal codes",
        examples=["10115"],
    ),
]
Reference = Annotated[
    str,
    Field(
        pattern=REFERENCE_PATTERN,
        description="what the shipment is for, in the caller's terms",
        examples=["order:0b5c5a0e-6a43-4f5c-9d49-2f6f2f0b8c11"],
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemIn(_Body):
    product_id: Annotated[
        str,
        Field(
            pattern=PRODUCT_ID_PATTERN,
            max_length=MAX_PRODUCT_ID_LENGTH,
            description="catalog's product id",
            examples=["ceramic-pour-over"],
        ),
    ]
    quantity: Annotated[
        int, Field(strict=True, ge=MIN_QUANTITY, le=MAX_QUANTITY, description="1..10")
    ]


Items = Annotated[
    list[ItemIn],
    Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="what is shipped: 1..50 items, each product once; every unit adds to the price",
    ),
]


def _each_product_once(items: list[ItemIn]) -> list[ItemIn]:
    if len({item.product_id for item in items}) != len(items):
        raise ValueError("each product may appear once; add up its quantities")
    return items


class DestinationIn(_Body):
    country: CountryCode
    postal_code: PostalCode = None


class QuoteRequest(_Body):
    destination: DestinationIn
    items: Items

    _unique = field_validator("items")(_each_product_once)


class AddressIn(_Body):
    name: Line
    line1: Line
    line2: Line | None = None
    city: City
    postal_code: PostalCode = None
    country: CountryCode

    @field_validator("line2", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class ShipmentRequest(_Body):
    reference: Reference
    option: Annotated[str, Field(min_length=1, max_length=32, description="standard or express")]
    address: AddressIn
    items: Items

    _unique = field_validator("items")(_each_product_once)


class Money(BaseModel):
    amount: int = Field(description="integer minor units (cents for USD)")
    currency: str = Field(description="ISO 4217 code", examples=["USD"])


class Days(BaseModel):
    min: int = Field(description="business days, at the earliest")
    max: int = Field(description="business days, at the latest")


class OptionView(BaseModel):
    id: str = Field(examples=["standard"])
    name: str = Field(examples=["Standard"])
    price: Money
    days: Days


class QuoteView(BaseModel):
    zone: str = Field(description="the shipping zone of the destination", examples=["europe"])
    options: list[OptionView]


class AddressView(BaseModel):
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str = Field(description="normalised; empty where the country has none")
    country: str


class ItemView(BaseModel):
    product_id: str
    quantity: int


class ShipmentView(BaseModel):
    id: str = Field(description="the shipment's id (uuid)")
    tracking_id: str = Field(pattern=TRACKING_PATTERN, examples=["MOSK5V3QX7RZ2MA"])
    status: Status
    reference: str
    option: str
    price: Money
    days: Days
    address: AddressView
    items: list[ItemView]
    created_at: datetime.datetime
    cancelled_at: datetime.datetime | None


class ShipmentList(BaseModel):
    items: list[ShipmentView] = Field(description="oldest first")


def quote_view(quote: Quote) -> QuoteView:
    return QuoteView(zone=quote.zone.id, options=[_option(option) for option in quote.options])


def shipment_view(shipment: Shipment) -> ShipmentView:
    address = shipment.address
    return ShipmentView(
        id=shipment.id,
        tracking_id=shipment.tracking_id,
        status=shipment.status,
        reference=shipment.reference,
        option=shipment.option.id,
        price=Money(amount=shipment.option.price, currency=CURRENCY),
        days=Days(min=shipment.option.days_min, max=shipment.option.days_max),
        address=AddressView(
            name=address.name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
        ),
        items=[ItemView(product_id=i.product_id, quantity=i.quantity) for i in shipment.items],
        created_at=shipment.created_at,
        cancelled_at=shipment.cancelled_at,
    )


def _option(option: Option) -> OptionView:
    return OptionView(
        id=option.id,
        name=option.name,
        price=Money(amount=option.price, currency=CURRENCY),
        days=Days(min=option.days_min, max=option.days_max),
    )
