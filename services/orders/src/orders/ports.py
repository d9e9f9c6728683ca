"""What the saga needs from the world: small ports, so unit tests plug in fakes.

Adapters over the other services are in `clients.py`, the Postgres store in `store.py`.
An adapter raises `Rejected` for a business failure (the order is cancelled with its
reason) and `Unavailable` for a transient one (timeout, 5xx, unreachable, after the
client's retries): the step may be tried again later with the same idempotency key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from orders.domain import Address, Failure, Line, Money, Order
from orders.events import OutboxEvent


class Rejected(Exception):
    """The callee refused for a reason the shopper must hear: the order is cancelled."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class Unavailable(Exception):
    """The callee could not answer now; whether it did the work is unknown."""

    def __init__(self, service: str, reason: str = "") -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class LeaseLost(Exception):
    """Another driver took this saga over (our lease expired): stop touching it."""


@dataclass(frozen=True, slots=True)
class Card:
    """Card data, passed through to payments and never stored or logged."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OwnerProof:
    """The headers that prove the owner to cart (a user token or a visitor id)."""

    headers: dict[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class CartLine:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CartContents:
    id: str
    lines: tuple[CartLine, ...]


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    price: Money  # catalog's price, in USD


@dataclass(frozen=True, slots=True)
class ShippingOption:
    id: str
    name: str
    price: Money  # shipping's price, in USD
    days_min: int
    days_max: int


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    id: str
    succeeded: bool
    net: int  # what is still taken from the shopper (minor units)
    failure: Failure | None = None  # why it failed, for a failed charge


@dataclass(frozen=True, slots=True)
class ChargeLimit:
    """The most one charge may be in a currency, as payments publishes it."""

    most: Money
    shown: str  # as people read it, e.g. "IDR 9,999,999,999.99"


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    id: str
    tracking_id: str
    cancelled: bool = False


class Carts(Protocol):
    async def current(self, proof: OwnerProof) -> CartContents | None: ...

    async def remove_ordered(self, cart_id: str, order_id: str, lines: Sequence[Line]) -> None:
        """Take the order's lines out of the cart, once per order; a gone cart is fine."""
        ...


class Catalog(Protocol):
    async def products(self, product_ids: Sequence[str]) -> dict[str, Product | None]: ...


class Currency(Protocol):
    async def convert(self, amounts: Sequence[Money], to: str) -> list[Money]: ...


class Payments(Protocol):
    async def charge(self, key: str, order: Order, card: Card) -> ChargeRecord:
        """A succeeded charge, or Rejected (declined, invalid card...)."""
        ...

    async def charges(self, reference: str) -> list[ChargeRecord]: ...

    async def limit(self, currency: str) -> ChargeLimit:
        """The most one charge may be in `currency`: an order over it is never charged."""
        ...

    async def refund(self, key: str, charge_id: str, reason: str) -> None: ...

    def refusing(self) -> bool:
        """Whether payments is known to be down right now (this process's breaker for it
        is open): a checkout then stops before its card is sent, at once."""
        ...


class ShippingService(Protocol):
    async def quote(self, address: Address, lines: Sequence[CartLine]) -> list[ShippingOption]: ...

    async def ship(self, key: str, order: Order) -> ShipmentRecord: ...

    async def shipments(self, reference: str) -> list[ShipmentRecord]: ...

    async def cancel(self, shipment_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Upstream:
    carts: Carts
    catalog: Catalog
    currency: Currency
    payments: Payments
    shipping: ShippingService


class SagaStore(Protocol):
    async def save(self, order: Order, holder: str, event: OutboxEvent | None = None) -> None:
        """Persist the order's state (and, when it has just ended, its event in the outbox,
        in the same transaction), renewing `holder`'s lease; LeaseLost if not its holder."""
        ...

    async def order(self, order_id: str) -> Order | None:
        """The order as persisted now."""
        ...

    async def new_status_link(self, order_id: str, holder: str) -> str | None:
        """A fresh guest link token for the order, kept only as a hash (for a driver that
        cannot unseal the first one); None if `holder` lost the lease."""
        ...
