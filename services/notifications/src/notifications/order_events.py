"""The events notifications reads from orders, as orders documents them
(services/orders/events/*.json): our own reading of that contract, checked on arrival.

Extra fields are ignored (a producer may add fields within a version); a missing or
ill-typed one makes the event malformed, which the handler acks and logs instead of mailing.
"""

from __future__ import annotations

import re
from email import headerregistry
from email.errors import HeaderParseError
from typing import Annotated, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_STATUS_PATH = re.compile(r"^/(?!/)[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def _mail_address(value: str) -> str:
    """One plain address (no display name, no line breaks): whatever a header may carry."""
    if any(c in value for c in "\r\n<>,") or value != value.strip():
        raise ValueError("not a single mail address")
    try:
        address = headerregistry.Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError) as error:
        raise ValueError(f"not a mail address: {error}") from None
    if not address.username or not address.domain or "." not in address.domain:
        raise ValueError("not a mail address")
    if address.domain.isascii():
        return value
    # An international domain (accounts keeps ada@bücher.example as typed): its ASCII
    # (IDNA) form works with every SMTP server; a non-ASCII local part would need SMTPUTF8.
    try:
        domain = address.domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("not a mail domain") from None
    return f"{address.username}@{domain}"


def _status_path(value: str) -> str:
    """A path on the shop (`/orders/status/<token>`), never a URL to elsewhere."""
    if not _STATUS_PATH.match(value) or len(value) > 500:
        raise ValueError("expected a path on the shop, e.g. /orders/status/<token>")
    return value


def _currency(value: str) -> str:
    if not _CURRENCY.match(value):
        raise ValueError("expected an ISO 4217 code such as EUR")
    return value


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    amount: StrictInt = Field(ge=0)  # minor units; a float is a broken contract
    currency: Annotated[str, AfterValidator(_currency)]


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: Text
    name: Text
    quantity: StrictInt = Field(ge=1, le=1000)
    unit_price: Money
    line_total: Money


OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None


class Address(BaseModel):
    """The delivery address (orders added it to v1 as an optional field)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: Text
    line1: Text
    line2: OptionalText = None
    postal_code: OptionalText = None
    city: Text
    region: OptionalText = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

    @property
    def lines(self) -> list[str]:
        """As on an envelope: name, street lines, postal code and city, region, country."""
        town = " ".join(part for part in (self.postal_code, self.city) if part)
        parts = [self.name, self.line1, self.line2, town, self.region, self.country]
        return [part for part in parts if part]


class OrderConfirmedV1(BaseModel):
    """`data` of OrderConfirmed version 1."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: UUID
    email: Annotated[str, AfterValidator(_mail_address)]
    currency: Annotated[str, AfterValidator(_currency)]
    lines: list[OrderLine] = Field(min_length=1, max_length=200)
    subtotal: Money
    shipping: Money
    shipping_option: Annotated[str, StringConstraints(max_length=100)] = ""
    total: Money
    tracking_id: Text
    # The guest link to the order's status page; orders may leave it out (null).
    status_url: Annotated[str, AfterValidator(_status_path)] | None = None
    address: Address | None = None
    placed_at: AwareDatetime
    # The signed-in shopper's given name (orders added it to v1 in v0.4.0): the mail greets
    # by it; a guest's order, or one placed before, has none and is greeted as before.
    given_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = (
        None
    )

    @model_validator(mode="after")
    def _one_currency(self) -> Self:
        amounts = [self.subtotal, self.shipping, self.total]
        amounts += [m for line in self.lines for m in (line.unit_price, line.line_total)]
        if any(m.currency != self.currency for m in amounts):
            raise ValueError(f"every amount must be in the order's currency {self.currency}")
        return self

    @property
    def short_id(self) -> str:
        """The order number a person reads and quotes: the id's first 8 hex digits."""
        return self.order_id.hex[:8].upper()

    @property
    def shipping_name(self) -> str:
        """ "standard" → "Standard"; "" when orders did not say."""
        return self.shipping_option.replace("_", " ").replace("-", " ").strip().capitalize()
