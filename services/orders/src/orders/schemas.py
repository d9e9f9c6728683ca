"""The shapes of the API's bodies: the checkout form orders takes, the orders it shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from orders.domain import Address, Money, Order, Step, over_limit_reason
from orders.ports import Card, ChargeLimit
from orders.shapes import address_of, as_model, line_as

_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"  # printed on labels and e-mails: no control characters
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_PRINTABLE)
]
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,255}$"
Region = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$"),
    Field(description="state, province or county, where the address has one", examples=["CA"]),
]


class _Body(BaseModel):
    # The card is in the body: inputs are never echoed in errors (nor, so, in logs).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class AddressIn(_Body):
    name: Text
    line1: Text
    line2: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    region: Region | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = ""
    country: Annotated[
        str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["DE"])
    ]

    def address(self) -> Address:
        """Blank optional parts are absent (null), as orders keeps and shows them."""
        blank_as_none = {
            "line2": self.line2.strip() or None,
            "region": self.region or None,
            "postal_code": self.postal_code or None,
        }
        return address_of({**self.model_dump(), **blank_as_none})


class CardIn(_Body):
    """Passed to payments (which checks Luhn, expiry, CVC) and never stored or logged."""

    number: SecretStr = Field(max_length=40, description="digits; spaces and dashes are ignored")
    exp_month: int = Field(ge=1, le=12, examples=[12])
    exp_year: int = Field(ge=2000, le=2100, examples=[2030])
    cvc: SecretStr = Field(max_length=4, description="3 digits (4 for American Express)")

    @field_validator("number")
    @classmethod
    def _digits(cls, value: SecretStr) -> SecretStr:
        if not all(c.isdigit() or c in " -" for c in value.get_secret_value()):
            raise ValueError("only digits, spaces and dashes")
        return value

    @field_validator("cvc")
    @classmethod
    def _cvc_digits(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().isdigit():
            raise ValueError("only digits")
        return value

    def card(self) -> Card:
        return Card(
            self.number.get_secret_value(),
            self.exp_month,
            self.exp_year,
            self.cvc.get_secret_value(),
        )


class CheckoutIn(_Body):
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
        Field(examples=["ada@example.com"]),
    ]
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])
    shipping_option: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,31}$",
        description="from a shipping quote",
        examples=["standard"],
    )
    address: AddressIn
    card: CardIn
    given_name: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=_PRINTABLE),
        Field(
            description="the signed-in shopper's given name, which the confirmation mail "
            "greets by; left out for a guest",
            examples=["Ada"],
        ),
    ] = None

    def canonical(self) -> bytes:
        """The request as sorted JSON, card included: what its fingerprint is taken of."""
        # Without an absent region: a form without one fingerprints as it did before
        # orders knew regions (a checkout repeated across that release stays one order).
        data = self.model_dump(mode="json", exclude_none=True)
        data["card"] = {**data["card"], **_revealed(self.card)}
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _revealed(card: CardIn) -> dict[str, Any]:
    return {"number": card.number.get_secret_value(), "cvc": card.cvc.get_secret_value()}


class MoneyView(BaseModel):
    amount: int = Field(description="integer minor units")
    currency: str


class LineView(BaseModel):
    product_id: str
    name: str
    quantity: int
    unit_price: MoneyView
    line_total: MoneyView


class DaysView(BaseModel):
    min: int
    max: int


class ShippingView(BaseModel):
    option: str
    name: str
    price: MoneyView
    days: DaysView


class AddressView(BaseModel):
    """Where the order goes: as the shopper gave it (blank optional parts are null)."""

    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None = Field(description="state, province or county, where given")
    postal_code: str | None
    country: str = Field(description="ISO 3166-1 alpha-2")


Status = Literal["processing", "confirmed", "cancelled"]


class OrderView(BaseModel):
    id: str
    status: Status = Field(
        description="processing (the checkout is still running, or waits for the recovery), "
        "confirmed or cancelled"
    )
    currency: str
    address: AddressView = Field(description="the delivery address")
    lines: list[LineView]
    subtotal: MoneyView | None = Field(description="null until the cart was priced")
    shipping: ShippingView | None
    total: MoneyView | None = Field(description="null until shipping was priced")
    tracking_id: str | None
    cancel_reason: str | None = Field(description="why it was cancelled, for the shopper")
    cancel_field: str | None = Field(description="the checkout form's field it concerns")
    placed_at: datetime


class CheckoutView(OrderView):
    status_url_token: str = Field(
        description="the guest link's token: GET /v1/orders/by-token/{token}; shown once "
        "(and to a repeat of this checkout)"
    )


class LimitView(BaseModel):
    currency: str
    max_amount: MoneyView = Field(description="the most one card payment may be")
    shown: str = Field(description="the limit as people read it", examples=["USD 999,999.99"])
    message: str = Field(
        description="what to tell a shopper whose cart is over it: the same sentence a "
        "checkout refused for it answers (`amount-over-limit`)"
    )


class OrderList(BaseModel):
    items: list[OrderView] = Field(description="newest first")


def _money(money: Money) -> MoneyView:
    return as_model(MoneyView, money)


def status_of(order: Order) -> Status:
    if order.step is Step.CONFIRMED:
        return "confirmed"
    if order.step is Step.CANCELLED:
        return "cancelled"
    return "processing"


def order_view(order: Order) -> OrderView:
    shipping = order.shipping
    failure = order.failure if order.step is Step.CANCELLED else None
    if order.placed_at is None:  # set by the database: a draft is never shown
        raise ValueError(f"order {order.id} is a draft, not read from the database")
    return OrderView(
        id=order.id,
        status=status_of(order),
        currency=order.currency,
        address=as_model(AddressView, order.address),
        lines=[line_as(LineView, line) for line in order.lines],
        subtotal=_money(order.subtotal) if order.lines else None,
        shipping=ShippingView(
            option=shipping.option,
            name=shipping.name,
            price=_money(shipping.price),
            days=DaysView(min=shipping.days_min, max=shipping.days_max),
        )
        if shipping
        else None,
        total=_money(order.total) if shipping else None,
        tracking_id=order.tracking_id,
        cancel_reason=failure.reason if failure else None,
        cancel_field=failure.field if failure else None,
        placed_at=order.placed_at,
    )


def limit_view(currency: str, limit: ChargeLimit) -> LimitView:
    return LimitView(
        currency=currency,
        max_amount=_money(limit.most),
        shown=limit.shown,
        message=over_limit_reason(currency, limit.shown),
    )


def checkout_view(order: Order, token: str) -> CheckoutView:
    return CheckoutView(**order_view(order).model_dump(), status_url_token=token)
