"""orders' callees as stand-ins, one per service (`<callee>.py`), each on its own port and
checked against its callee's committed contract (services/<callee>/openapi.json): every
answer when its test ends (integration/conftest.py), the routes in tests/test_stand_ins.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from chassis.stand_ins import Contract
from orders.reads import READS

from services.orders.tests.stand_ins.callee import Callee
from services.orders.tests.stand_ins.cart import FakeCart
from services.orders.tests.stand_ins.catalog import FakeCatalog
from services.orders.tests.stand_ins.currency import FakeCurrency
from services.orders.tests.stand_ins.payments import FakePayments
from services.orders.tests.stand_ins.shipping import FakeShipping

SERVICES = Path(__file__).parents[3]


def contract(callee: str) -> Contract:
    """The callee's committed contract (services/<callee>/openapi.json)."""
    document = orjson.loads((SERVICES / callee / "openapi.json").read_bytes())
    return Contract(callee, document)


@dataclass
class StandIns:
    """cart, catalog, currency, payments and shipping, as far as orders uses them. A
    changed answer (`changed[(method, path)] = (status, body)`) and the request bodies seen
    are shared: whichever stand-in serves the route gives it."""

    changed: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen_bodies: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        changed, seen = self.changed, self.seen_bodies
        self.cart = FakeCart(changed=changed, seen_bodies=seen)
        self.catalog = FakeCatalog(changed=changed, seen_bodies=seen)
        self.currency = FakeCurrency(changed=changed, seen_bodies=seen)
        self.payments = FakePayments(changed=changed, seen_bodies=seen)
        self.shipping = FakeShipping(changed=changed, seen_bodies=seen)

    def each(self) -> dict[str, Callee]:
        return {
            "cart": self.cart,
            "catalog": self.catalog,
            "currency": self.currency,
            "payments": self.payments,
            "shipping": self.shipping,
        }

    def urls(self) -> dict[str, str]:
        """orders' settings naming each callee's stand-in (`CART_URL`, ...)."""
        return {f"{name.upper()}_URL": fake.url for name, fake in self.each().items()}

    async def start(self) -> None:
        for fake in self.each().values():
            await fake.start()

    async def stop(self) -> None:
        for fake in self.each().values():
            await fake.stop()

    def reset(self) -> None:
        self.changed.clear()
        self.seen_bodies.clear()
        for fake in self.each().values():
            fake.reset()

    def drift(self) -> list[str]:
        """Every answer given since the last reset that is off its callee's contract, and
        every route orders called that its reads.py does not declare."""
        return [
            line
            for name, fake in self.each().items()
            for line in contract(name).checked(fake, READS)
        ]
