"""The late charge: a live checkout paused past its lease with its charge in flight, the
recovery cancelling the order meanwhile (payment-unconfirmed), the charge landing after.
Cancelled must still mean no net charge: the order settles, refunding what landed."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from orders.domain import Line, Money, Order, Shipping, Step
from orders.events import ENVELOPES
from orders.ports import Card, ChargeRecord, Unavailable
from orders.saga import Saga

from .fakes import DECLINED_CARD, GOOD_CARD, PROOF, World, new_order

SETTLE = 120.0


def driver(world: World, holder: str, clock: float = 0.0) -> Saga:
    return Saga(
        world.store,
        world.upstream(),
        holder=holder,
        clock=lambda: time.time() + clock,
        settle_seconds=SETTLE,
    )


def later() -> float:
    return time.time() + 10


async def test_a_late_charge_is_refunded_and_the_paused_checkout_does_not_confirm() -> None:
    world = World()
    world.store.holder = "live"
    live = driver(world, "live")
    recovery = driver(world, "recover")
    charge = world.payments.charge
    cancelled_by_recovery: list[Order] = []

    async def paused_past_the_lease(key: str, order: Order, card: Card) -> ChargeRecord:
        # The live checkout stalls here, after saving "charging": its lease expires and the
        # recovery, finding no charge at payments, cancels the order.
        world.store.holder = "recover"
        stored = await world.store.order(order.id)
        assert stored is not None and stored.step is Step.CHARGING
        cancelled_by_recovery.append(await recovery.run(stored, deadline=later()))
        return await charge(key, order, card)  # ...and then its charge lands

    world.payments.charge = paused_past_the_lease  # type: ignore[method-assign]
    answer = await live.run(new_order(), deadline=later(), card=GOOD_CARD, proof=PROOF)

    # The live driver never reports its own, overtaken view: the order is cancelled.
    assert answer.step is Step.CANCELLED and answer.failure is not None
    assert answer.failure.code == "payment-unconfirmed"
    assert world.shipping.by_key == {}  # it stopped at its lost lease: nothing shipped
    [cancelled] = cancelled_by_recovery
    assert cancelled.settling and cancelled.settle_until is not None
    assert cancelled.settle_until > datetime.now(UTC) + timedelta(seconds=SETTLE - 10)
    assert world.payments.net_taken > 0  # the late charge

    # The next pass, inside the window, refunds it and keeps watching.
    within = await recovery.run(answer, deadline=later())
    assert world.payments.net_taken == 0 and recovery.late_refunds == 1
    assert within.settling and not within.finished
    [(key, charge_id)] = world.payments.refunds.items()
    assert key == f"order-{answer.id}-refund-{charge_id}"

    # The first pass after the window looks once more, then settles the order.
    after = driver(world, "recover", clock=SETTLE + 1)
    settled = await after.run(within, deadline=later())
    assert settled.step is Step.CANCELLED and settled.settle_until is None and settled.finished
    assert after.late_refunds == 0 and len(world.payments.refunds) == 1
    assert [e.type for e in world.store.outbox] == ["OrderCancelled"]
    for event in world.store.outbox:
        ENVELOPES[(event.type, event.version)].model_validate(event.envelope())


async def test_a_charge_landing_at_the_last_look_is_refunded_before_settling() -> None:
    world = World()
    order = await driver(world, "me").run(_at_charging(), deadline=later())
    assert order.settling
    world.payments.records.append(ChargeRecord("ch-late", True, 6660))
    settled = await driver(world, "me", clock=SETTLE + 1).run(order, deadline=later())
    assert settled.finished and world.payments.net_taken == 0


async def test_settling_with_payments_down_is_left_for_the_next_pass() -> None:
    world = World()
    order = await driver(world, "me").run(_at_charging(), deadline=later())
    world.payments.down = 99
    left = await driver(world, "me", clock=SETTLE + 1).run(order, deadline=time.time() - 1)
    assert left.settling
    world.payments.down = 0
    assert (await driver(world, "me", clock=SETTLE + 1).run(left, deadline=later())).finished


async def test_a_cancellation_that_saw_the_charge_does_not_settle() -> None:
    declined = World()
    done = await driver(declined, "me").run(
        new_order(), deadline=later(), card=DECLINED_CARD, proof=PROOF
    )
    assert done.step is Step.CANCELLED and done.finished and done.settle_until is None
    refused = World()
    order = new_order(address=replace(new_order().address, country="ZZ"))
    done = await driver(refused, "me").run(order, deadline=later(), card=GOOD_CARD, proof=PROOF)
    assert done.finished and refused.payments.net_taken == 0  # refunded at once
    before_payment = World()
    done = await driver(before_payment, "me").run(new_order(step=Step.QUOTING), deadline=later())
    assert done.finished and before_payment.payments.calls == []


async def test_a_driver_leaving_the_order_answers_what_the_store_holds() -> None:
    world = World()
    world.store.holder = "live"

    async def overtaken_while_down(key: str, order: Order, card: Card) -> ChargeRecord:
        if world.store.holder == "live":  # paused past its lease: the recovery cancels
            world.store.holder = "recover"
            stored = await world.store.order(order.id)
            assert stored is not None
            await driver(world, "recover").run(stored, deadline=later())
        raise Unavailable("payments", "timed out")

    world.payments.charge = overtaken_while_down  # type: ignore[method-assign]
    answer = await driver(world, "live").run(
        new_order(), deadline=time.time() + 0.5, card=GOOD_CARD, proof=PROOF
    )
    assert answer.step is Step.CANCELLED  # what the store holds, not its own "charging"


def _at_charging() -> Order:
    """An order priced and quoted, saved at charging by a checkout that then died."""
    return new_order(
        step=Step.CHARGING,
        cart_id="c1",
        lines=(Line("wool-socks", "Wool socks", 2, Money(1080, "EUR")),),
        shipping=Shipping("standard", "Standard", Money(450, "EUR"), 3, 5),
    )
