"""Placing orders end to end (in-process orders, real Postgres, stand-in callees)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import orjson
import pytest
from chassis.testing import ServiceKeys, in_process_client
from orders.app import create_orders_app
from orders.settings import OrdersSettings

from services.orders.tests.stand_ins import StandIns

from .driving import (
    DECLINED_CARD,
    REFUSED_POSTAL_CODE,
    Shopper,
    assert_problem,
    checkout_form,
    place,
    settings_env,
)

CARD_NUMBER = "4242424242424242"


async def test_a_checkout_confirms_charges_ships_and_clears_the_cart(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 2, "brass-compass": 1})
    response = await place(client, shopper)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "confirmed"
    # EUR at 0.9 per USD: 2 x 1080 + 4050 = 6210, shipping 450.
    assert order["subtotal"] == {"amount": 6210, "currency": "EUR"}
    assert order["shipping"]["price"] == {"amount": 450, "currency": "EUR"}
    assert order["total"] == {"amount": 6660, "currency": "EUR"}
    assert [line["line_total"]["amount"] for line in order["lines"]] == [2160, 4050]
    assert order["tracking_id"].startswith("MOS")
    assert response.headers["location"] == f"/v1/orders/{order['id']}"
    assert stand_ins.payments.net(order["id"]) == 6660
    assert stand_ins.shipping.active(order["id"]) == 1
    assert stand_ins.cart.removals[order["id"]] == [
        {"product_id": "wool-socks", "quantity": 2},
        {"product_id": "brass-compass", "quantity": 1},
    ]
    row = await db.fetchrow("SELECT step, cart_cleared, status_token FROM orders")
    assert (row["step"], row["cart_cleared"], row["status_token"]) == ("confirmed", True, None)
    events = await db.fetch("SELECT type, payload FROM outbox")
    assert [e["type"] for e in events] == ["OrderConfirmed"]
    mine = await client.get(f"/v1/orders/{order['id']}", headers=shopper.headers)
    assert mine.status_code == 200 and mine.json()["status"] == "confirmed"
    by_link = await client.get(f"/v1/orders/by-token/{order['status_url_token']}")
    assert by_link.status_code == 200 and by_link.json()["id"] == order["id"]


async def test_the_card_is_never_stored_nor_logged(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for card in ({"number": "4242 4242 4242 4242"}, DECLINED_CARD):
        shopper = visitor()
        stand_ins.cart.fill(shopper, {"wool-socks": 1})
        await place(client, shopper, card={**DECLINED_CARD, **card, "cvc": "987"})
    rows = [
        *await db.fetch("SELECT * FROM orders"),
        *await db.fetch("SELECT * FROM outbox"),
    ]
    assert len(rows) == 4  # two orders, an event each
    logs = capsys.readouterr()
    for text in ("\n".join(str(dict(row)) for row in rows), logs.out, logs.err):
        assert CARD_NUMBER not in text and "4242 4242" not in text
        assert "4000000000000002" not in text and "cvc" not in text


async def test_a_declined_card_cancels_with_a_reason_and_nothing_to_refund(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    response = await place(client, shopper, card=DECLINED_CARD)
    body = assert_problem(response, 402, "card-declined")
    assert body["detail"] == "Your card was declined."
    assert body["field"] == "card"
    assert body["order"]["status"] == "cancelled"
    assert body["order"]["cancel_reason"] == "Your card was declined."
    assert stand_ins.payments.refunds == {} and stand_ins.shipping.shipments == {}
    assert stand_ins.cart.removals == {}  # the cart is kept


async def test_a_shipment_refused_after_the_charge_is_refunded(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    form = checkout_form()
    address = {**form["address"], "postal_code": REFUSED_POSTAL_CODE}
    response = await place(client, shopper, address=address)
    body = assert_problem(response, 422, "destination-not-served")
    assert body["field"] == "address.postal_code"
    order_id = body["order_id"]
    assert len(stand_ins.payments.refunds) == 1
    assert stand_ins.payments.net(order_id) == 0
    assert stand_ins.cart.removals == {}


async def test_an_address_not_served_is_refused_before_payment(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    address = {**checkout_form()["address"], "country": "AQ", "postal_code": ""}
    body = assert_problem(
        await place(client, shopper, address=address), 422, "destination-not-served"
    )
    assert body["field"] == "address.country"
    assert stand_ins.payments.charges == {}


@pytest.fixture
async def fresh_client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    """An orders of this test's own: the limits it reads from payments are not yet kept."""
    env = settings_env(database_url, stand_ins, keys)
    app = create_orders_app(OrdersSettings.model_validate(env))
    async with in_process_client(app, keys, "frontend", timeout=60) as http:
        yield http


async def test_an_order_over_the_charge_limit_is_409_before_any_charge(
    fresh_client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    client = fresh_client
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 2, "brass-compass": 1})  # EUR 66.60
    stand_ins.payments.limits["EUR"] = 5000
    body = assert_problem(await place(client, shopper), 409, "amount-over-limit")
    assert body["field"] == "cart" and body["order"]["status"] == "cancelled"
    assert body["detail"] == (
        "This order comes to more than EUR 50.00, the most a single card payment can be in "
        "EUR. Remove some items from your cart, or choose another currency, and then check out."
    )
    assert stand_ins.payments.charges == {}
    limit = await client.get("/v1/limits/EUR")
    assert limit.status_code == 200, limit.text
    assert limit.json() == {
        "currency": "EUR",
        "max_amount": {"amount": 5000, "currency": "EUR"},
        "shown": "EUR 50.00",
        "message": body["detail"],
    }
    unknown = await client.get("/v1/limits/XYZ")  # a client's mistake: never a 5xx
    assert_problem(unknown, 422, "currency-not-supported")


async def test_a_checkout_is_found_by_its_key_and_only_by_its_owner(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper, stranger = visitor(), visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    key = secrets.token_urlsafe(16)
    none_yet = await client.get(
        "/v1/orders/by-key", headers={**shopper.headers, "Idempotency-Key": key}
    )
    assert_problem(none_yet, 404, "order-not-found")
    placed = (await place(client, shopper, key)).json()
    found = await client.get(
        "/v1/orders/by-key", headers={**shopper.headers, "Idempotency-Key": key}
    )
    assert found.status_code == 200, found.text
    assert found.json() == placed  # the guest link's token too: the key unseals it
    theirs = await client.get(
        "/v1/orders/by-key", headers={**stranger.headers, "Idempotency-Key": key}
    )
    assert_problem(theirs, 404, "order-not-found")


async def test_an_empty_cart_is_409(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    assert_problem(await place(client, visitor()), 409, "cart-empty")


async def test_the_same_key_gives_the_same_answer(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    key = secrets.token_urlsafe(16)
    first = await place(client, shopper, key)
    again = await place(client, shopper, key)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert len(stand_ins.payments.charges) == 1 and len(stand_ins.shipping.shipments) == 1
    declined = visitor()
    stand_ins.cart.fill(declined, {"wool-socks": 1})
    answers = [await place(client, declined, "k1", card=DECLINED_CARD) for _ in range(2)]
    assert answers[0].status_code == answers[1].status_code == 402
    assert answers[0].content == answers[1].content


async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    await place(client, shopper, "key-1")
    for changed in ({"email": "other@example.com"}, {"card": {**DECLINED_CARD}}):
        assert_problem(
            await place(client, shopper, "key-1", **changed), 422, "idempotency-key-reused"
        )
    # Another owner's same key is another checkout.
    other = visitor()
    stand_ins.cart.fill(other, {"wool-socks": 1})
    assert (await place(client, other, "key-1")).status_code == 201


async def test_fifty_concurrent_checkouts_with_one_key_make_one_order(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 3})
    key = secrets.token_urlsafe(16)
    answers = await asyncio.gather(*(place(client, shopper, key) for _ in range(50)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    assert len(stand_ins.payments.charges) == 1 and len(stand_ins.shipping.shipments) == 1
    assert await db.fetchval("SELECT count(*) FROM outbox") == 1


async def test_payments_down_briefly_is_retried_with_the_same_key(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    stand_ins.payments.down = 4  # more than one client call's three attempts
    response = await place(client, shopper)
    assert response.status_code == 201, response.text
    assert len(stand_ins.payments.charges) == 1


async def test_bad_requests_are_problems_never_500(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    no_key = await client.post("/v1/orders", json=checkout_form(), headers=shopper.headers)
    assert_problem(no_key, 422, "invalid-request")
    bad_key = await client.post(
        "/v1/orders", json=checkout_form(), headers={**shopper.headers, "Idempotency-Key": "a b"}
    )
    assert_problem(bad_key, 422, "invalid-request")
    assert_problem(
        await client.post("/v1/orders", json=checkout_form(), headers={"Idempotency-Key": "k"}),
        401,
        "owner-unknown",
    )
    for change in (
        {"card": {**DECLINED_CARD, "number": "4242x"}},
        {"card": {**DECLINED_CARD, "exp_month": 13}},
        {"currency": "eur"},
        {"email": "nope"},
        {"address": {"name": "A"}},
    ):
        response = await place(client, shopper, **change)
        body = assert_problem(response, 422, "invalid-request")
        assert "4242x" not in response.text
        assert body["errors"]


async def test_the_delivery_address_is_shown_and_its_region_kept_by_orders(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    user: Callable[..., Shopper],
    db: asyncpg.Connection,
) -> None:
    shopper = user()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    address = {
        "name": "Grace Hopper",
        "line1": "1 Infinite Loop",
        "line2": "Suite 5",
        "city": "Cupertino",
        "region": " CA ",
        "postal_code": "95014",
        "country": "US",
    }
    response = await place(client, shopper, address=address)
    assert response.status_code == 201, response.text
    shown = {**address, "region": "CA"}
    order = response.json()
    assert order["address"] == shown
    mine = await client.get(f"/v1/orders/{order['id']}", headers=shopper.headers)
    assert mine.json()["address"] == shown
    history = await client.get("/v1/orders", headers=shopper.headers)
    assert [o["address"] for o in history.json()["items"]] == [shown]
    event = orjson.loads(await db.fetchval("SELECT payload FROM outbox"))
    assert event["data"]["address"] == shown
    # Shipping's API takes no region: it stays with orders.
    assert stand_ins.seen_bodies and not any(b"region" in body for body in stand_ins.seen_bodies)


async def test_an_address_without_a_region_shows_it_as_null(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    for region in ("", None):
        address = {**checkout_form()["address"], "region": region}
        response = await place(client, shopper, address=address)
        assert response.json()["address"]["region"] is None, response.text
        stand_ins.cart.fill(shopper, {"wool-socks": 1})
    bad = {**checkout_form()["address"], "region": "C\x00A"}
    assert_problem(await place(client, shopper, address=bad), 422, "invalid-request")
    long = {**checkout_form()["address"], "region": "x" * 101}
    assert_problem(await place(client, shopper, address=long), 422, "invalid-request")
