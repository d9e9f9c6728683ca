"""The crash-point test hook: MOSAIC_TEST_CRASH_AFTER=<point> makes the process SIGKILL
itself right after that point, as a power cut would. Read once, at start; unset (always,
outside tests) the wiring adds nothing.

A seam the wiring sets (`app.py`), not calls in the saga: the checkout's store and two of
its callees are wrapped. The points are the saga's steps, each right after it is persisted
(`pricing`: the checkout's claim of the order), `cart_cleared` once the cart's lines are
removed, and the moments a callee has acted but its answer is not yet saved (`charged`,
`shipped`: the answer is lost). `tests/system/test_checkout_crash_points.py` crashes
orders at every one.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import replace

from chassis import get_logger

from orders.domain import Address, Order, Step
from orders.events import OutboxEvent
from orders.ports import (
    Card,
    CartLine,
    ChargeLimit,
    ChargeRecord,
    Payments,
    ShipmentRecord,
    ShippingOption,
    ShippingService,
    Upstream,
)
from orders.store import Claim, NewOrder, Store

_log = get_logger("orders.crash")

CART_CLEARED = "cart_cleared"
CHARGED = "charged"  # payments took the money; the step is still charging
SHIPPED = "shipped"  # shipping made the shipment; the step is still shipping
SETTLED = "settled"  # a cancelled order's settling window closed (not a point of the sweep)
POINTS = frozenset({*(step.value for step in Step), CART_CLEARED, CHARGED, SHIPPED})

Crash = Callable[[str], None]


def point_of(order: Order, event: OutboxEvent | None) -> str:
    """Which point a save of `order` (with `event`, if it ends the saga) is."""
    if order.cart_cleared:
        return CART_CLEARED
    if order.step is Step.CANCELLED and event is None:
        return SETTLED
    return order.step.value


class CrashingStore(Store):
    """The store, crashing after the claim and after each save."""

    def __init__(self, store: Store, crash: Crash) -> None:
        super().__init__(store.database, lease_seconds=store.lease)
        self.crash = crash

    async def claim(self, new: NewOrder, holder: str) -> Claim:
        claim = await super().claim(new, holder)
        if claim.created:  # the claim persisted the first step
            self.crash(Step.PRICING.value)
        return claim

    async def save(self, order: Order, holder: str, event: OutboxEvent | None = None) -> None:
        await super().save(order, holder, event)
        self.crash(point_of(order, event))


class CrashingPayments:
    def __init__(self, payments: Payments, crash: Crash) -> None:
        self.payments = payments
        self.crash = crash

    async def charge(self, key: str, order: Order, card: Card) -> ChargeRecord:
        charged = await self.payments.charge(key, order, card)
        self.crash(CHARGED)
        return charged

    async def charges(self, reference: str) -> list[ChargeRecord]:
        return await self.payments.charges(reference)

    async def limit(self, currency: str) -> ChargeLimit:
        return await self.payments.limit(currency)

    def refusing(self) -> bool:
        return self.payments.refusing()

    async def refund(self, key: str, charge_id: str, reason: str) -> None:
        await self.payments.refund(key, charge_id, reason)


class CrashingShipping:
    def __init__(self, shipping: ShippingService, crash: Crash) -> None:
        self.shipping = shipping
        self.crash = crash

    async def quote(self, address: Address, lines: Sequence[CartLine]) -> list[ShippingOption]:
        return await self.shipping.quote(address, lines)

    async def ship(self, key: str, order: Order) -> ShipmentRecord:
        shipped = await self.shipping.ship(key, order)
        self.crash(SHIPPED)
        return shipped

    async def shipments(self, reference: str) -> list[ShipmentRecord]:
        return await self.shipping.shipments(reference)

    async def cancel(self, shipment_id: str) -> None:
        await self.shipping.cancel(shipment_id)


def crashing_upstream(upstream: Upstream, crash: Crash) -> Upstream:
    """The callees, crashing once payments charged or shipping shipped."""
    return replace(
        upstream,
        payments=CrashingPayments(upstream.payments, crash),
        shipping=CrashingShipping(upstream.shipping, crash),
    )


def crash_after(after: str) -> Crash:
    """SIGKILL this process at `after`, no other point."""

    def crash(point: str) -> None:
        if point == after:
            _log.warning("test hook: crashing", after=point)
            os.kill(os.getpid(), signal.SIGKILL)

    return crash


def seam(after: str | None, upstream: Upstream) -> tuple[Upstream, Callable[[Store], Store] | None]:
    """The callees the checkout drives and how it wraps its store: as they are when no
    point is set; else crashing at `after`."""
    if not after:
        return upstream, None
    crash = crash_after(after)
    return crashing_upstream(upstream, crash), lambda store: CrashingStore(store, crash)
