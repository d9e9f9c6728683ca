"""An order and its saga: the steps, what each leaves behind, and why an order is cancelled.

No I/O here. The saga's state is the order's `step`; `saga.py` moves it along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


class Step(StrEnum):
    """Where an order's saga is. Each is persisted before the call out it announces."""

    PRICING = "pricing"  # created; about to read the cart and reprice it
    QUOTING = "quoting"  # priced; about to ask shipping for the price of the option
    CHARGING = "charging"  # totalled; about to charge the card
    SHIPPING = "shipping"  # charged; about to create the shipment
    CONFIRMED = "confirmed"  # shipped and confirmed (OrderConfirmed in the outbox)
    COMPENSATING = "compensating"  # failed; undoing what was done, in reverse
    CANCELLED = "cancelled"  # compensated (OrderCancelled in the outbox)


ENDED = frozenset({Step.CONFIRMED, Step.CANCELLED})


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # integer minor units
    currency: str  # ISO 4217

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose order: an anonymous visitor, or a user proven by a verified access token."""

    kind: Literal["visitor", "user"]
    id: str


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    country: str
    postal_code: str | None = None
    line2: str | None = None
    region: str | None = None  # e.g. a US state; kept by orders, not sent to shipping


@dataclass(frozen=True, slots=True)
class Line:
    """A cart line, priced at checkout in the order's currency."""

    product_id: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def total(self) -> Money:
        return self.unit_price.times(self.quantity)


@dataclass(frozen=True, slots=True)
class Shipping:
    option: str
    name: str
    price: Money  # in the order's currency
    days_min: int
    days_max: int


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an order is cancelled, for the shopper (`reason`, and the form `field` it concerns)
    and for callers (`code`, the HTTP `status` the checkout answers with).

    `retryable`: nothing at all happened (no payment was attempted) and the shop, not the
    shopper, was the problem: the checkout's Idempotency-Key is released so that placing
    the order again works.
    """

    code: str
    reason: str
    status: int
    field: str | None = None
    retryable: bool = False
    at: Step = Step.PRICING  # the step that failed: what compensation must look at


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    owner: Owner
    email: str
    currency: str
    shipping_option: str
    address: Address
    step: Step = Step.PRICING
    cart_id: str | None = None
    lines: tuple[Line, ...] = ()
    shipping: Shipping | None = None
    charge_id: str | None = None
    shipment_id: str | None = None
    tracking_id: str | None = None
    failure: Failure | None = None
    cart_cleared: bool = False
    placed_at: datetime | None = None
    status_token: str | None = field(default=None, repr=False)  # until the saga ends only
    # Cancelled without seeing any charge although one was attempted: a charge still on
    # its way to payments may land until then, and is refunded (see `saga.py`, settling).
    settle_until: datetime | None = None
    # The signed-in shopper's given name, which the confirmation mail greets by: none for a
    # guest, nor for an order placed through a frontend before v0.4.0.
    given_name: str | None = None

    @property
    def reference(self) -> str:
        """How payments and shipping file this order's charge and shipment."""
        return f"order:{self.id}"

    @property
    def subtotal(self) -> Money:
        return Money(sum(line.total.amount for line in self.lines), self.currency)

    @property
    def total(self) -> Money:
        shipping = self.shipping.price.amount if self.shipping else 0
        return Money(self.subtotal.amount + shipping, self.currency)

    @property
    def ended(self) -> bool:
        return self.step in ENDED

    @property
    def finished(self) -> bool:
        """Nothing left to do: cancelled and settled, or confirmed with the cart's lines
        removed."""
        if self.step is Step.CANCELLED:
            return not self.settling
        return self.step is Step.CONFIRMED and self.cart_cleared

    @property
    def settling(self) -> bool:
        """Cancelled, but payments must still be watched for a late charge."""
        return self.step is Step.CANCELLED and self.settle_until is not None

    @property
    def payment_attempted(self) -> bool:
        """A charge may exist: the saga got as far as charging."""
        reached = self.failure.at if self.failure else self.step
        return reached in (Step.CHARGING, Step.SHIPPING, Step.CONFIRMED)

    @property
    def key_released(self) -> bool:
        """Cancelled before any payment, for the shop's own trouble: placing the order
        again with the same Idempotency-Key makes a new order."""
        return (
            self.step is Step.CANCELLED
            and self.failure is not None
            and self.failure.retryable
            and not self.payment_attempted
        )

    @property
    def shipment_attempted(self) -> bool:
        reached = self.failure.at if self.failure else self.step
        return reached in (Step.SHIPPING, Step.CONFIRMED)


# The reasons the shop itself gives (others come from payments and shipping).
def empty_cart() -> Failure:
    return Failure("cart-empty", "Your cart is empty.", 409, "cart")


def unavailable_products(names: list[str]) -> Failure:
    listed = ", ".join(names)
    return Failure(
        "product-unavailable",
        f"No longer sold: {listed}. Remove it from your cart and try again.",
        409,
        "cart",
    )


def over_limit_reason(currency: str, most: str) -> str:
    """The sentence the shopper reads wherever a cart is over the limit: cart, checkout."""
    return (
        f"This order comes to more than {most}, the most a single card payment can be in "
        f"{currency}. Remove some items from your cart, or choose another currency, and "
        "then check out."
    )


def over_limit(currency: str, most: str) -> Failure:
    """Priced above what one charge may be in its currency: refused before any charge."""
    return Failure(
        "amount-over-limit", over_limit_reason(currency, most), 409, "cart", at=Step.QUOTING
    )


def option_unavailable(option: str) -> Failure:
    return Failure(
        "shipping-option-unavailable",
        f"Shipping option {option!r} is not offered for this address; choose another.",
        422,
        "shipping_option",
        at=Step.QUOTING,
    )


def shop_unavailable(service: str, at: Step) -> Failure:
    return Failure(
        "shop-unavailable",
        f"Checkout is unavailable right now ({service} is unavailable). Nothing was "
        "charged and your cart is kept; please try again in a moment.",
        503,
        retryable=True,
        at=at,
    )


def interrupted(at: Step) -> Failure:
    """The checkout stopped before the card was charged, and the card is never stored."""
    return Failure(
        "checkout-interrupted",
        "Your checkout was interrupted before payment. Nothing was charged; "
        "please place your order again.",
        503,
        retryable=at in (Step.PRICING, Step.QUOTING),
        at=at,
    )


def payment_unconfirmed() -> Failure:
    return Failure(
        "payment-unconfirmed",
        "We could not confirm your payment, so the order is cancelled; if your card was "
        "charged, the amount is refunded. Please place your order again.",
        402,
        "card",
        at=Step.CHARGING,
    )
