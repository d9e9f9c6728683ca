"""In-memory fakes of the saga's ports: each records what it was asked, and can be told to
refuse (a business failure) or to be down (transient) for a number of calls."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from orders.domain import Address, Failure, Line, Money, Order, Owner
from orders.events import OutboxEvent
from orders.ports import (
    Card,
    CartContents,
    CartLine,
    ChargeLimit,
    ChargeRecord,
    LeaseLost,
    OwnerProof,
    Product,
    Rejected,
    ShipmentRecord,
    ShippingOption,
    Unavailable,
    Upstream,
)

GOOD_CARD = Card("4242 4242 4242 4242", 12, 2030, "123")
DECLINED_CARD = Card("4000000000000002", 12, 2030, "123")
PROOF = OwnerProof({"x-visitor-id": "v" * 22})


def new_order(**changes: object) -> Order:
    order = Order(
        id=str(uuid.uuid4()),
        owner=Owner("visitor", "v" * 22),
        email="ada@example.com",
        currency="EUR",
        shipping_option="standard",
        address=Address("Ada", "Main St 1", "Berlin", "DE", "10115"),
        placed_at=datetime.now(UTC),
        status_token="t" * 43,
    )
    return replace(order, **changes)  # type: ignore[arg-type]


class Outage:
    """`down` calls fail with Unavailable before the service answers again."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.down = 0
        self.calls: list[str] = []
        self.journal: list[str] = []  # shared by a World's services: the order of all calls

    def call(self, name: str) -> None:
        self.calls.append(name)
        self.journal.append(f"{self.service}.{name}")
        if self.down:
            self.down -= 1
            raise Unavailable(self.service, "down")


@dataclass
class FakeStore:
    saved: list[Order] = field(default_factory=list)
    outbox: list[OutboxEvent] = field(default_factory=list)
    holder: str = "me"
    links: int = 0  # second guest links handed out (to drivers without the first)

    async def save(self, order: Order, holder: str, event: OutboxEvent | None = None) -> None:
        if holder != self.holder:
            raise LeaseLost(order.id)
        self.saved.append(order)
        if event is not None:
            self.outbox.append(event)

    async def order(self, order_id: str) -> Order | None:
        return next((o for o in reversed(self.saved) if o.id == order_id), None)

    async def new_status_link(self, order_id: str, holder: str) -> str | None:
        if holder != self.holder:
            return None
        self.links += 1
        return f"recovered-{self.links}"

    @property
    def steps(self) -> list[str]:
        out = []
        for before, after in zip([None, *self.saved], self.saved, strict=False):
            if before is not None and before.step is after.step:
                out.append("cart_cleared")
            else:
                out.append(after.step.value)
        return out


class FakeCarts(Outage):
    def __init__(self) -> None:
        super().__init__("cart")
        self.contents: CartContents | None = CartContents(
            "c1", (CartLine("wool-socks", 2), CartLine("brass-compass", 1))
        )
        self.removed: list[tuple[str, str, tuple[Line, ...]]] = []

    async def current(self, proof: OwnerProof) -> CartContents | None:
        self.call("current")
        return self.contents

    async def remove_ordered(self, cart_id: str, order_id: str, lines: Sequence[Line]) -> None:
        self.call("remove_ordered")
        self.removed.append((cart_id, order_id, tuple(lines)))


class FakeCatalog(Outage):
    def __init__(self) -> None:
        super().__init__("catalog")
        self.known = {
            "wool-socks": Product("wool-socks", "Wool socks", Money(1200, "USD")),
            "brass-compass": Product("brass-compass", "Brass compass", Money(4500, "USD")),
        }

    async def products(self, product_ids: Sequence[str]) -> dict[str, Product | None]:
        self.call("products")
        return {product_id: self.known.get(product_id) for product_id in product_ids}


class FakeCurrency(Outage):
    """Converts at 0.9 per USD; refuses "XXX"."""

    def __init__(self) -> None:
        super().__init__("currency")

    async def convert(self, amounts: Sequence[Money], to: str) -> list[Money]:
        self.call("convert")
        if to == "XXX":
            raise Rejected(Failure("currency-not-supported", "no", 422, "currency"))
        return [Money(round(m.amount * 0.9), to) for m in amounts]


class FakePayments(Outage):
    """Idempotent by key, like payments: a repeated key returns the first charge."""

    def __init__(self) -> None:
        super().__init__("payments")
        self.by_key: dict[str, ChargeRecord] = {}
        self.records: list[ChargeRecord] = []
        self.refunds: dict[str, str] = {}  # key -> charge id
        self.charged_cards: list[Card] = []
        self.limits: dict[str, int] = {}  # currency -> most one charge may be; else 99,999,999
        self.known_down = False  # as when orders' breaker for payments is open

    def refusing(self) -> bool:
        return self.known_down

    async def limit(self, currency: str) -> ChargeLimit:
        # Not a `call`: tests that count or break payments' calls mean its charges.
        most = self.limits.get(currency, 99_999_999)
        return ChargeLimit(Money(most, currency), f"{currency} {most}")

    async def charge(self, key: str, order: Order, card: Card) -> ChargeRecord:
        self.call("charge")
        if key in self.by_key:
            found = self.by_key[key]
        else:
            self.charged_cards.append(card)
            declined = card.number == DECLINED_CARD.number
            failure = Failure("card-declined", "Your card was declined.", 402, "card")
            found = ChargeRecord(
                f"ch-{len(self.records)}",
                not declined,
                0 if declined else order.total.amount,
                failure if declined else None,
            )
            self.by_key[key] = found
            self.records.append(found)
        if not found.succeeded:
            assert found.failure is not None
            raise Rejected(found.failure)
        return found

    async def charges(self, reference: str) -> list[ChargeRecord]:
        self.call("charges")
        return [replace(c, net=0) if c.id in self.refunds.values() else c for c in self.records]

    async def refund(self, key: str, charge_id: str, reason: str) -> None:
        self.call("refund")
        self.refunds[key] = charge_id

    @property
    def net_taken(self) -> int:
        return sum(c.net for c in self.records if c.id not in self.refunds.values())


class FakeShipping(Outage):
    """Quotes standard and express; refuses to serve country "AQ" (quote) and "ZZ" (ship)."""

    def __init__(self) -> None:
        super().__init__("shipping")
        self.by_key: dict[str, ShipmentRecord] = {}
        self.cancelled: set[str] = set()

    async def quote(self, address: Address, lines: Sequence[CartLine]) -> list[ShippingOption]:
        self.call("quote")
        if address.country == "AQ":
            raise Rejected(
                Failure("destination-not-served", "We do not ship there.", 422, "address.country")
            )
        return [
            ShippingOption("standard", "Standard", Money(500, "USD"), 3, 5),
            ShippingOption("express", "Express", Money(1500, "USD"), 1, 2),
        ]

    async def ship(self, key: str, order: Order) -> ShipmentRecord:
        self.call("ship")
        if order.address.country == "ZZ":
            raise Rejected(
                Failure("destination-not-served", "Not any more.", 422, "address.country")
            )
        if key not in self.by_key:
            self.by_key[key] = ShipmentRecord(f"sh-{len(self.by_key)}", "MOSABCDEFGHJKLMN")
        return self.by_key[key]

    async def shipments(self, reference: str) -> list[ShipmentRecord]:
        self.call("shipments")
        return [replace(s, cancelled=s.id in self.cancelled) for s in self.by_key.values()]

    async def cancel(self, shipment_id: str) -> None:
        self.call("cancel")
        self.cancelled.add(shipment_id)

    @property
    def active(self) -> int:
        return sum(1 for s in self.by_key.values() if s.id not in self.cancelled)


@dataclass
class World:
    store: FakeStore = field(default_factory=FakeStore)
    carts: FakeCarts = field(default_factory=FakeCarts)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    currency: FakeCurrency = field(default_factory=FakeCurrency)
    payments: FakePayments = field(default_factory=FakePayments)
    shipping: FakeShipping = field(default_factory=FakeShipping)

    def __post_init__(self) -> None:
        self.journal: list[str] = []
        for service in (self.carts, self.catalog, self.currency, self.payments, self.shipping):
            service.journal = self.journal

    def upstream(self) -> Upstream:
        return Upstream(self.carts, self.catalog, self.currency, self.payments, self.shipping)
