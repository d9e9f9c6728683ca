"""The saga's state machine on in-memory fakes: every step's failures, every compensation,
and the recovery's choice between forward and compensate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import pytest
from orders.crash import crashing_upstream, point_of
from orders.domain import Money, Order, Step
from orders.events import ENVELOPES, OutboxEvent
from orders.ports import ChargeRecord, ShipmentRecord
from orders.saga import Saga

from .fakes import DECLINED_CARD, GOOD_CARD, PROOF, FakeStore, World, new_order


def soon() -> float:
    return time.time() + 10


def gone() -> float:
    """A deadline already past: no retries."""
    return time.time() - 1


def saga(world: World, holder: str = "me") -> Saga:
    return Saga(world.store, world.upstream(), holder=holder)


@dataclass
class PointsStore(FakeStore):
    """Records the crash point each save is, where `crash.CrashingStore` would crash."""

    points: list[str] = field(default_factory=list)

    async def save(self, order: Order, holder: str, event: OutboxEvent | None = None) -> None:
        await super().save(order, holder, event)
        self.points.append(point_of(order, event))


async def checkout(world: World, order: Order | None = None, **options: object) -> Order:
    run = saga(world)
    return await run.run(
        order or new_order(),
        deadline=options.get("deadline", soon()),  # type: ignore[arg-type]
        card=options.get("card", GOOD_CARD),  # type: ignore[arg-type]
        proof=PROOF,
    )


def assert_events_valid(world: World) -> None:
    for event in world.store.outbox:
        ENVELOPES[(event.type, event.version)].model_validate(event.envelope())


async def test_the_happy_path_persists_each_step_before_its_call() -> None:
    crashes: list[str] = []
    world = World(store=PointsStore(points=crashes))
    # The crash hook's seam on the fakes: the store and the callees, as `crash.py` wraps them.
    hooked = Saga(world.store, crashing_upstream(world.upstream(), crashes.append), holder="me")
    order = await hooked.run(new_order(), deadline=soon(), card=GOOD_CARD, proof=PROOF)
    assert order.step is Step.CONFIRMED and order.cart_cleared
    # "charged" and "shipped": the callee acted, its answer not yet saved (a lost answer).
    assert crashes == [
        "quoting", "charging", "charged", "shipping", "shipped", "confirmed", "cart_cleared"
    ]  # fmt: skip
    # Priced in EUR at 0.9 per USD: 2 x 1080 + 1 x 4050, shipping 450.
    assert order.subtotal.amount == 6210 and order.total.amount == 6660
    assert [c.net for c in world.payments.records] == [6660]
    assert world.shipping.active == 1
    assert world.carts.removed == [("c1", order.id, order.lines)]
    assert [e.type for e in world.store.outbox] == ["OrderConfirmed"]
    assert world.store.outbox[0].data["status_url"] == "/orders/status/" + "t" * 43
    assert_events_valid(world)


async def test_an_order_in_catalog_s_currency_is_priced_without_asking_currency() -> None:
    """Catalog and shipping price in USD: an order in USD keeps their amounts as they are
    and makes no call to currency; an order in another currency converts both."""
    world = World()
    order = await checkout(world, new_order(currency="USD"))
    assert order.step is Step.CONFIRMED
    assert world.currency.calls == []
    assert [line.unit_price.amount for line in order.lines] == [1200, 4500]
    assert order.shipping is not None and order.shipping.price == Money(500, "USD")
    converted = await checkout(world, new_order())
    assert world.currency.calls == ["convert", "convert"]
    assert [line.unit_price.amount for line in converted.lines] == [1080, 4050]


async def test_charge_and_shipment_carry_keys_derived_from_the_order() -> None:
    world = World()
    order = await checkout(world)
    assert set(world.payments.by_key) == {f"order-{order.id}-charge"}
    assert set(world.shipping.by_key) == {f"order-{order.id}-shipment"}


@pytest.mark.parametrize(
    ("setup", "code", "field", "status"),
    [
        (lambda w: setattr(w.carts, "contents", None), "cart-empty", "cart", 409),
        (lambda w: w.catalog.known.pop("wool-socks"), "product-unavailable", "cart", 409),
        (None, "currency-not-supported", "currency", 422),
        (None, "destination-not-served", "address.country", 422),
        (None, "shipping-option-unavailable", "shipping_option", 422),
    ],
)
async def test_a_refusal_before_payment_cancels_without_touching_payments(
    setup: object, code: str, field: str, status: int
) -> None:
    world = World()
    order = new_order()
    if callable(setup):
        setup(world)
    elif code == "currency-not-supported":
        order = replace(order, currency="XXX")
    elif code == "destination-not-served":
        order = replace(order, address=replace(order.address, country="AQ"))
    else:
        order = replace(order, shipping_option="by-owl")
    done = await checkout(world, order)
    assert done.step is Step.CANCELLED
    assert done.failure is not None
    assert (done.failure.code, done.failure.field, done.failure.status) == (code, field, status)
    assert world.payments.calls == [] and world.shipping.by_key == {}
    assert not done.key_released  # the shopper's to fix: the same key gives the same answer
    assert [e.type for e in world.store.outbox] == ["OrderCancelled"]
    assert world.store.steps[-2:] == ["compensating", "cancelled"]
    assert_events_valid(world)


async def test_an_order_over_its_currency_s_charge_limit_is_refused_before_any_charge() -> None:
    world = World()
    world.payments.limits["EUR"] = 6659  # the order comes to 6660 (see the happy path)
    done = await checkout(world)
    assert done.step is Step.CANCELLED and done.failure is not None
    failure = done.failure
    assert (failure.code, failure.field, failure.status) == ("amount-over-limit", "cart", 409)
    assert "more than EUR 6659, the most a single card payment can be in EUR" in failure.reason
    assert "choose another currency" in failure.reason
    assert world.payments.calls == [] and world.payments.charged_cards == []
    assert world.shipping.by_key == {}
    assert [e.type for e in world.store.outbox] == ["OrderCancelled"]
    world.payments.limits["EUR"] = 6660  # exactly the limit is fine
    assert (await checkout(World(payments=world.payments))).step is Step.CONFIRMED


async def test_a_declined_card_cancels_with_nothing_to_refund() -> None:
    world = World()
    done = await checkout(world, card=DECLINED_CARD)
    assert done.step is Step.CANCELLED and done.failure is not None
    assert (done.failure.code, done.failure.field, done.failure.status) == (
        "card-declined",
        "card",
        402,
    )
    assert done.failure.reason == "Your card was declined."
    assert world.payments.refunds == {} and world.payments.net_taken == 0
    assert world.shipping.calls == ["quote"]  # no shipment was attempted
    assert world.carts.removed == []


async def test_a_shipment_refused_after_the_charge_is_refunded() -> None:
    world = World()
    order = new_order(address=replace(new_order().address, country="ZZ"))
    done = await checkout(world, order)
    assert done.step is Step.CANCELLED and done.failure is not None
    assert done.failure.field == "address.country" and done.failure.at is Step.SHIPPING
    assert world.payments.refunds == {f"order-{done.id}-refund-ch-0": "ch-0"}
    assert world.payments.net_taken == 0
    assert world.carts.removed == []


async def test_compensation_runs_in_reverse_shipment_first() -> None:
    world = World()
    world.shipping.by_key["k"] = ShipmentRecord("sh-9", "MOSX")
    world.payments.records.append(ChargeRecord("ch-9", True, 6660))
    failure = replace(
        (await checkout(World(), card=DECLINED_CARD)).failure,  # type: ignore[arg-type]
        at=Step.SHIPPING,
    )
    order = new_order(step=Step.COMPENSATING, failure=failure)
    done = await saga(world).run(order, deadline=soon())
    assert done.step is Step.CANCELLED
    undo = [call for call in world.journal if call in ("shipping.cancel", "payments.refund")]
    assert undo == ["shipping.cancel", "payments.refund"]
    assert world.shipping.active == 0 and world.payments.net_taken == 0


async def test_a_callee_down_briefly_is_retried_with_the_same_key() -> None:
    world = World()
    world.payments.down = 2
    world.shipping.down = 1  # its quote
    done = await checkout(world)
    assert done.step is Step.CONFIRMED
    assert world.payments.calls.count("charge") == 3
    assert len(world.payments.records) == 1 and len(world.payments.charged_cards) == 1


@pytest.mark.parametrize("service", ["carts", "catalog", "currency"])
async def test_down_while_pricing_cancels_and_frees_the_key(service: str) -> None:
    world = World()
    getattr(world, service).down = 99
    done = await checkout(world, deadline=gone())
    assert done.step is Step.CANCELLED and done.failure is not None
    assert done.failure.code == "shop-unavailable" and done.failure.status == 503
    assert done.key_released
    assert world.payments.calls == []


async def test_down_while_quoting_cancels_and_frees_the_key() -> None:
    world = World()
    world.shipping.down = 99
    done = await checkout(world, deadline=gone())
    assert done.step is Step.CANCELLED and done.key_released


async def test_payments_known_down_cancels_before_the_card_is_sent_at_once() -> None:
    world = World()
    world.payments.known_down = True  # orders' breaker for payments is open
    started = time.monotonic()
    done = await checkout(world)  # a deadline seconds away: no waiting for it
    assert time.monotonic() - started < 1
    assert done.step is Step.CANCELLED and done.failure is not None
    assert done.failure.code == "shop-unavailable" and done.failure.status == 503
    assert "cart is kept" in done.failure.reason
    assert done.key_released and not done.payment_attempted
    assert world.payments.calls == [] and world.payments.charged_cards == []


async def test_payments_down_leaves_the_order_charging_for_the_recovery() -> None:
    world = World()
    world.payments.down = 99
    done = await checkout(world, deadline=gone())
    assert done.step is Step.CHARGING and world.store.outbox == []


async def test_shipping_down_after_the_charge_leaves_it_then_recovery_goes_forward() -> None:
    world = World()
    world.shipping.down = 0
    order = await saga(world).run(new_order(), deadline=soon(), card=GOOD_CARD, proof=PROOF)
    assert order.step is Step.CONFIRMED  # sanity: the world works
    world = World()
    original = world.shipping.ship

    async def down_ship(key: str, order: Order) -> ShipmentRecord:
        world.shipping.down = 1
        return await original(key, order)

    world.shipping.ship = down_ship  # type: ignore[method-assign]
    left = await checkout(world, deadline=gone())
    assert left.step is Step.SHIPPING
    world.shipping.ship = original  # type: ignore[method-assign]
    recovered = await saga(world, holder="me").run(left, deadline=soon())
    assert recovered.step is Step.CONFIRMED and recovered.cart_cleared
    assert len(world.payments.records) == 1 and world.shipping.active == 1


@pytest.mark.parametrize("step", [Step.PRICING, Step.QUOTING])
async def test_recovery_before_payment_compensates_it_has_no_card(step: Step) -> None:
    world = World()
    done = await saga(world).run(new_order(step=step), deadline=soon())
    assert done.step is Step.CANCELLED and done.failure is not None
    assert done.failure.code == "checkout-interrupted" and done.key_released
    assert world.payments.calls == [] and world.carts.calls == []


async def test_recovery_at_charging_goes_forward_from_a_confirmed_charge() -> None:
    world = World()
    world.payments.records.append(ChargeRecord("ch-7", True, 6660))
    priced = await _priced(world)
    done = await saga(world).run(priced, deadline=soon())
    assert done.step is Step.CONFIRMED and done.charge_id == "ch-7"
    assert world.payments.charged_cards == []  # it never charges: it has no card
    assert world.shipping.active == 1 and world.carts.removed


async def test_recovery_at_charging_without_a_charge_cancels() -> None:
    world = World()
    done = await saga(world).run(await _priced(world), deadline=soon())
    assert done.step is Step.CANCELLED and done.failure is not None
    assert done.failure.code == "payment-unconfirmed"
    assert not done.key_released  # a payment was attempted: its answer stays
    assert world.shipping.by_key == {}


async def test_recovery_at_charging_after_a_decline_cancels_with_its_reason() -> None:
    world = World()
    world.payments.records.append(
        ChargeRecord(
            "ch-1",
            False,
            0,
            replace(
                (await checkout(World(), card=DECLINED_CARD)).failure  # type: ignore[arg-type]
            ),
        )
    )
    done = await saga(world).run(await _priced(world), deadline=soon())
    assert done.failure is not None and done.failure.code == "card-declined"


async def test_recovery_finishes_a_confirmed_order_whose_cart_was_not_cleared() -> None:
    world = World()
    confirmed = await checkout(World())
    done = await saga(world).run(replace(confirmed, cart_cleared=False), deadline=soon())
    assert done.cart_cleared and world.carts.removed
    assert world.store.outbox == []  # confirmed once: no second OrderConfirmed


async def test_compensation_that_cannot_reach_payments_is_left_for_later() -> None:
    world = World()
    world.payments.records.append(ChargeRecord("ch-3", True, 6660))
    failure = (await checkout(World(), card=DECLINED_CARD)).failure
    assert failure is not None
    order = new_order(step=Step.COMPENSATING, failure=replace(failure, at=Step.SHIPPING))
    world.payments.down = 99
    left = await saga(world).run(order, deadline=gone())
    assert left.step is Step.COMPENSATING
    world.payments.down = 0
    done = await saga(world).run(left, deadline=soon())
    assert done.step is Step.CANCELLED and world.payments.net_taken == 0


async def test_a_driver_that_lost_its_lease_stops() -> None:
    world = World()
    done = await saga(world, holder="someone-else").run(
        new_order(), deadline=soon(), card=GOOD_CARD, proof=PROOF
    )
    assert done.step is Step.PRICING
    assert world.payments.calls == [] and world.store.saved == []


async def _priced(world: World) -> Order:
    """An order persisted at CHARGING by a checkout that then died."""
    probe = World()
    probe.payments.down = 99
    left = await checkout(probe, deadline=gone())
    assert left.step is Step.CHARGING
    return left
