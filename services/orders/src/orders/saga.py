r"""The checkout saga: drives one order from its step to its end, one local step at a time.

    pricing -> quoting -> charging -> shipping -> confirmed (+ cart lines removed)
         \________\___________\__________\____> compensating -> cancelled

Every step is persisted (with the lease renewed and fenced: `SagaStore.save`) before the
call out it announces, so a crash anywhere leaves the order at a step that says what may
have happened. Calls that change something carry an idempotency key derived from the order
id ("order-<id>-charge", "order-<id>-shipment", ...): repeating one after a crash or a
timeout can never charge or ship twice.

A business failure (declined card, address not served, empty cart...) compensates what
was done, in reverse: the shipment is cancelled, the charge refunded, and the order is
cancelled with a reason the shopper can read. A transient failure (timeout, 5xx) is retried
with the same key while the deadline allows; after that the order is left where it is, for
the recovery job (`jobs.py`), which drives it on with the same code.

The card is known only to the live checkout that received it: a driver without it (the
recovery) goes forward only from a confirmed charge, and compensates an order that had not
got that far.

Settling: an order cancelled while its charge was unconfirmed (the recovery found no
charge at payments) may still be charged late, by a live checkout that was paused past its
lease (its heartbeat paused too) with the charge call in flight. Such a call carries the
live drive's deadline (`x-deadline`, SAGA_SECONDS after the drive began), after which
payments refuses it on arrival; only a request that arrived before can still land, within
payments' own processing time. So the cancelled order
keeps `settle_until` (cancel time + SETTLE_SECONDS): until then every pass of the recovery
looks at payments again and refunds any succeeded charge (key `order-<id>-refund-<charge>`);
the first look after it marks the order settled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chassis import get_logger

from orders import events, pricing
from orders.domain import (
    Failure,
    Order,
    Step,
    interrupted,
    over_limit,
    payment_unconfirmed,
    shop_unavailable,
)
from orders.ports import (
    Card,
    ChargeRecord,
    LeaseLost,
    OwnerProof,
    Rejected,
    SagaStore,
    Unavailable,
    Upstream,
)

_log = get_logger("orders.saga")

Clock = Callable[[], float]
_Work = Coroutine[Any, Any, Order]
BACKOFF = (0.1, 0.3, 0.8, 1.5)  # seconds between tries of a step that found a callee down
SETTLE_SECONDS = 120.0  # payments' longest charge (processor timeout, request budget) + margin


class Saga:
    def __init__(
        self,
        store: SagaStore,
        upstream: Upstream,
        *,
        holder: str,
        clock: Clock = time.time,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.store = store
        self.up = upstream
        self.holder = holder  # this driver's lease id
        self.clock = clock
        self.settle_seconds = settle_seconds
        self.late_refunds = 0  # late charges this driver refunded on cancelled orders

    async def run(
        self,
        order: Order,
        *,
        deadline: float,
        card: Card | None = None,
        proof: OwnerProof | None = None,
    ) -> Order:
        """Drive the order as far as it goes before `deadline`; return where it stands.

        The caller holds the order's lease. The order is finished, or was left at a step
        to be driven on later (a callee stayed down, our lease was taken over, or it is
        cancelled and still settling). What is returned is what the store holds, never a
        state of this driver's that another driver has overtaken."""
        tries = 0
        while not order.finished:
            try:
                if order.settling and order.settle_until is not None:
                    # one look at payments per drive, until the window ends
                    order = await self._settle(order, order.settle_until)
                    return order if order.finished else await self._stored(order)
                order = await self._step(order, card, proof)
                tries = 0
            except Unavailable as down:
                pause = BACKOFF[min(tries, len(BACKOFF) - 1)]
                tries += 1
                # Before the charge, nothing was charged and nothing can be: the shopper may
                # simply try again, and is told at once when payments is known down.
                early = order.step in (Step.PRICING, Step.QUOTING) and card is not None
                known_down = early and down.service == "payments" and self.up.payments.refusing()
                if self.clock() + pause < deadline and not known_down:
                    _log.info("retrying", order_id=order.id, step=order.step, service=down.service)
                    await asyncio.sleep(pause)
                    continue
                if early:
                    order = await self._fail(order, shop_unavailable(down.service, order.step))
                    continue
                _log.warning("left for recovery", order_id=order.id, step=order.step)
                return await self._stored(order)
            except LeaseLost:
                # Whatever this driver did meanwhile (a late charge) is the new holder's to
                # settle: the shopper hears where the order really stands, never "confirmed"
                # from a step that was not saved.
                _log.warning("lease lost; another driver has the order", order_id=order.id)
                return await self._stored(order)
        return order

    async def _stored(self, order: Order) -> Order:
        """The order as the store holds it (our lease may have expired unnoticed)."""
        return await self.store.order(order.id) or order

    async def _step(self, order: Order, card: Card | None, proof: OwnerProof | None) -> Order:
        match order.step:
            case Step.PRICING | Step.QUOTING if card is None or proof is None:
                return await self._fail(order, interrupted(order.step))
            case Step.PRICING if proof is not None:
                return await self._guarded(order, self._price(order, proof))
            case Step.QUOTING:
                return await self._guarded(order, self._quote(order))
            case Step.CHARGING:
                return await self._guarded(order, self._charge(order, card))
            case Step.SHIPPING:
                return await self._guarded(order, self._ship(order))
            case Step.CONFIRMED:
                return await self._clear_cart(order)
            case Step.COMPENSATING:
                return await self._compensate(order)
            case _:  # cancelled (or pricing without a proof, refused above)
                return order

    async def _guarded(self, order: Order, work: _Work) -> Order:
        """Run a forward step; a Rejected turns into compensation."""
        try:
            return await work
        except Rejected as rejected:
            return await self._fail(order, replace(rejected.failure, at=order.step))

    async def _price(self, order: Order, proof: OwnerProof) -> Order:
        cart = await self.up.carts.current(proof)
        priced = await pricing.price_cart(self.up.catalog, self.up.currency, cart, order.currency)
        return await self._save(
            replace(order, step=Step.QUOTING, cart_id=cart.id if cart else None, lines=priced)
        )

    async def _quote(self, order: Order) -> Order:
        shipping = await pricing.quote(self.up.shipping, self.up.currency, order)
        quoted = replace(order, step=Step.CHARGING, shipping=shipping)
        # The total is known: one over what a charge may be in its currency is refused now,
        # with the limit in words, rather than by payments once the card is sent.
        limit = await self.up.payments.limit(order.currency)
        if quoted.total.amount > limit.most.amount:
            raise Rejected(over_limit(order.currency, limit.shown))
        if self.up.payments.refusing():
            # payments is known down (the breaker is open): the card is not sent, and the
            # shopper hears so now, nothing charged and the cart kept, rather than after
            # the saga's whole deadline as an order "processing" that is then cancelled.
            raise Rejected(shop_unavailable("payments", Step.QUOTING))
        return await self._save(quoted)

    async def _charge(self, order: Order, card: Card | None) -> Order:
        if card is None:  # the recovery: forward only from a charge payments confirms
            records = await self.up.payments.charges(order.reference)
            taken = next((c for c in records if c.succeeded and c.net > 0), None)
            if taken is None:
                failed = next((c.failure for c in reversed(records) if c.failure), None)
                raise Rejected(failed or payment_unconfirmed())
            return await self._save(replace(order, step=Step.SHIPPING, charge_id=taken.id))
        charge = await self.up.payments.charge(f"order-{order.id}-charge", order, card)
        return await self._save(replace(order, step=Step.SHIPPING, charge_id=charge.id))

    async def _ship(self, order: Order) -> Order:
        shipment = await self.up.shipping.ship(f"order-{order.id}-shipment", order)
        confirmed = replace(
            order,
            step=Step.CONFIRMED,
            shipment_id=shipment.id,
            tracking_id=shipment.tracking_id,
        )
        _log.info("order confirmed", order_id=order.id)
        confirmed = await self._with_link(confirmed)
        return await self._save(confirmed, events.confirmed(confirmed))

    async def _clear_cart(self, order: Order) -> Order:
        if order.cart_id is not None:
            await self.up.carts.remove_ordered(order.cart_id, order.id, order.lines)
        return await self._save(replace(order, cart_cleared=True))

    async def _fail(self, order: Order, failure: Failure) -> Order:
        _log.info("order failing", order_id=order.id, step=order.step, code=failure.code)
        return await self._save(replace(order, step=Step.COMPENSATING, failure=failure))

    async def _compensate(self, order: Order) -> Order:
        """Undo in reverse: the shipment, then the charge. Each undo is safe to repeat."""
        if order.shipment_attempted:
            for shipment in await self.up.shipping.shipments(order.reference):
                if not shipment.cancelled:
                    await self.up.shipping.cancel(shipment.id)
        settle_until = None
        if order.payment_attempted:
            charges = await self.up.payments.charges(order.reference)
            await self._refund(order, charges)
            if not charges:
                # The charge's key is unspent: a charge still in flight may land later.
                settle_until = datetime.fromtimestamp(self.clock() + self.settle_seconds, UTC)
        cancelled = replace(order, step=Step.CANCELLED, settle_until=settle_until)
        _log.info("order cancelled", order_id=order.id, settling=settle_until is not None)
        cancelled = await self._with_link(cancelled)
        return await self._save(cancelled, events.cancelled(cancelled))

    async def _with_link(self, order: Order) -> Order:
        """The order with a guest link token for its event. The live checkout has the
        shopper's (never stored in plain); a driver without it (the recovery) gets a
        second one, stored hashed, so the e-mail still links to the order."""
        if order.status_token is not None:
            return order
        token = await self.store.new_status_link(order.id, self.holder)
        if token is None:
            raise LeaseLost(order.id)
        return replace(order, status_token=token)

    async def _settle(self, order: Order, until: datetime) -> Order:
        """A cancelled order's look for a late charge: refunded; settled once the window
        (`settle_until`) has passed."""
        # The time is read before the look: a charge landing after it is seen next time.
        ended = self.clock() >= until.timestamp()
        late = await self._refund(order, await self.up.payments.charges(order.reference))
        if late:
            _log.warning("late charge refunded", order_id=order.id, count=late)
            self.late_refunds += late
        if not ended:
            return order
        _log.info("order settled", order_id=order.id)
        return await self._save(replace(order, settle_until=None))

    async def _refund(self, order: Order, charges: list[ChargeRecord]) -> int:
        """Refund every charge of the order still taken; how many there were."""
        taken = [charge for charge in charges if charge.succeeded and charge.net > 0]
        for charge in taken:
            key = f"order-{order.id}-refund-{charge.id}"
            await self.up.payments.refund(key, charge.id, "order cancelled")
        return len(taken)

    async def _save(self, order: Order, event: events.OutboxEvent | None = None) -> Order:
        await self.store.save(order, self.holder, event)
        return order
