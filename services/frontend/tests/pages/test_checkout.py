"""Checkout against stand-in orders and shipping: the form, its outcomes, its secrets."""

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from .test_accounts import post_form, sign_up
from .test_cart import add

CARD = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
CVC = "839"

GOOD = {
    "email": "grace@example.com",
    "saved_address": "new",
    "name": "Grace Hopper",
    "line1": "Unter den Linden 1",
    "line2": "",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "shipping_option": "standard",
    "card_number": CARD,
    "exp_month": "12",
    "exp_year": "2030",
    "card_cvc": CVC,
}


def hidden(audit, html: str, name: str) -> str:
    fields = [f for f in audit(html).all("input") if f.get("name") == name]
    assert fields, f"no field {name}"
    return str(fields[0]["value"])


def field(audit, html: str, name: str) -> dict[str, str | None]:
    found = [f for f in audit(html).all("input") if f.get("name") == name]
    assert found, f"no field {name}"
    return found[0]


def error_of(audit, html: str, name: str) -> str:
    """The error text tied to an input through aria-describedby."""
    described = (field(audit, html, name).get("aria-describedby") or "").split()
    errors = [i for i in described if i.endswith("-error")]
    assert errors, f"{name} has no error"
    match = re.search(rf'id="{errors[0]}">(.*?)</p>', html, re.S)
    assert match is not None
    return " ".join(audit(match[1]).plain_text.split())


async def checkout_form(shop: httpx.AsyncClient, audit) -> tuple[httpx.Response, dict[str, str]]:
    page = await shop.get("/checkout")
    assert page.status_code == 200, page.text
    tokens = {
        "csrf_token": hidden(audit, page.text, "csrf_token"),
        "idempotency_key": hidden(audit, page.text, "idempotency_key"),
    }
    return page, tokens


async def place(shop: httpx.AsyncClient, audit, **changes: str) -> httpx.Response:
    _, tokens = await checkout_form(shop, audit)
    return await shop.post("/checkout", data={**GOOD, **tokens, **changes})


async def test_the_cart_has_a_checkout_button(shop: httpx.AsyncClient, audit):
    await add(shop, audit)

    page = audit((await shop.get("/cart")).text)

    assert any(a.get("href") == "/checkout" for a in page.all("a"))


async def test_an_empty_cart_goes_back_to_the_cart(shop: httpx.AsyncClient, audit):
    response = await shop.get("/checkout")

    assert response.status_code == 303 and response.headers["location"] == "/cart"
    assert "Your cart is empty" in audit((await shop.get("/cart")).text).plain_text


async def test_the_checkout_form(shop: httpx.AsyncClient, audit):
    await add(shop, audit, quantity="2")

    page, tokens = await checkout_form(shop, audit)

    html = page.text
    assert audit(html).heading == "Checkout"
    assert page.headers["cache-control"] == "no-store"
    assert len(tokens["idempotency_key"]) >= 32
    number = field(audit, html, "card_number")
    assert number["autocomplete"] == "cc-number" and number["inputmode"] == "numeric"
    assert field(audit, html, "exp_month")["autocomplete"] == "cc-exp-month"
    assert field(audit, html, "exp_year")["autocomplete"] == "cc-exp-year"
    cvc = field(audit, html, "card_cvc")
    assert cvc["autocomplete"] == "cc-csc" and cvc["inputmode"] == "numeric"
    labels = {label.get("for") for label in audit(html).all("label")}
    for name in ("email", "name", "line1", "city", "postal-code", "country", "card-number"):
        assert f"checkout-{name}" in labels
    text = audit(html).plain_text
    assert "Ceramic Pour-Over \N{MULTIPLICATION SIGN} 2" in text and "$48.00" in text
    assert "Enter your country and postal code to see delivery options" in text
    assert "Update delivery options" in text
    assert "<script>" not in html.split("</head>")[1]  # no inline script: the CSP allows none


async def test_each_rendered_form_has_its_own_key(shop: httpx.AsyncClient, audit):
    await add(shop, audit)

    _, first = await checkout_form(shop, audit)
    _, second = await checkout_form(shop, audit)

    assert first["idempotency_key"] != second["idempotency_key"]


async def test_a_guest_places_an_order_and_sees_it_by_its_link(
    shop: httpx.AsyncClient, orders, cart, audit
):
    await add(shop, audit, quantity="2")

    response = await place(shop, audit, shipping_option="express")

    assert response.status_code == 303
    token = response.headers["location"].removeprefix("/orders/status/")
    assert len(token) >= 32
    body = orders.bodies[-1]
    assert body["email"] == "grace@example.com" and body["currency"] == "USD"
    assert "given_name" not in body  # a guest: the mail thanks without a name
    assert body["shipping_option"] == "express"
    assert body["address"] == {
        "name": "Grace Hopper", "line1": "Unter den Linden 1", "city": "Berlin",
        "postal_code": "10117", "country": "DE",
    }  # fmt: skip
    assert body["card"] == {
        "number": "4242424242424242",
        "exp_month": 12,
        "exp_year": 2030,
        "cvc": CVC,
    }
    assert orders.owners_seen[-1].startswith("visitor:")
    page = await shop.get(response.headers["location"])
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    text = audit(page.text).plain_text
    assert "Thank you, your order is confirmed" in text
    assert "Ceramic Pour-Over" in text and "$48.00" in text
    assert "$15.99" in text and "$63.99" in text  # express for 2 units, and the total
    assert "MOS" in text and "Unter den Linden 1" in text
    assert "Keep this link" in text
    assert "Cart (0)" in text


async def test_the_count_loses_an_orders_units_once_without_asking_cart(
    shop: httpx.AsyncClient, orders, cart, audit
):
    """After a confirmed order the header count drops by the units it ordered, worked out
    here rather than by another call to cart; the same checkout posted again (orders
    answers with the same order) takes nothing off a second time."""
    await add(shop, audit, quantity="2")
    _, tokens = await checkout_form(shop, audit)
    calls = len(cart.owners_seen)
    first = await shop.post("/checkout", data={**GOOD, **tokens})
    assert first.status_code == 303
    assert len(cart.owners_seen) == calls  # the confirmed order's count: no call to cart
    assert "Cart (0)" in audit((await shop.get(first.headers["location"])).text).plain_text
    await add(shop, audit, quantity="1")  # one more, after the order
    again = await shop.post("/checkout", data={**GOOD, **tokens})
    assert again.headers["location"] == first.headers["location"]  # the same order
    assert "Cart (1)" in audit((await shop.get(again.headers["location"])).text).plain_text


async def test_a_signed_in_user_checks_out_with_a_saved_address(
    shop: httpx.AsyncClient, orders, accounts, shipping, audit
):
    await sign_up(shop, audit, accounts)
    fields = {"recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
              "postal_code": "SW1Y 4JH", "country": "GB"}  # fmt: skip
    await post_form(shop, audit, "/account", "/account/addresses", **fields)
    await add(shop, audit)

    page, tokens = await checkout_form(shop, audit)

    assert field(audit, page.text, "email")["value"] == "ada@example.com"
    saved = [f for f in audit(page.text).all("input") if f.get("name") == "saved_address"]
    assert "checked" in saved[0] and saved[-1]["value"] == "new"
    assert shipping.quotes[-1]["destination"] == {"country": "GB", "postal_code": "SW1Y 4JH"}
    assert "Standard" in audit(page.text).plain_text and "$4.99" in page.text
    data = {**GOOD, **tokens, "email": "ada@example.com", "saved_address": saved[0]["value"]}
    data |= {"name": "", "line1": "", "city": "", "postal_code": "", "country": ""}
    response = await shop.post("/checkout", data=data)

    assert response.status_code == 303
    order_id = response.headers["location"].removeprefix("/orders/")
    assert orders.owners_seen[-1] == "user:ada@example.com"
    assert orders.bodies[-1]["given_name"] == "Ada"  # for the confirmation mail to greet by
    assert orders.bodies[-1]["address"] == {
        "name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
        "postal_code": "SW1Y 4JH", "country": "GB",
    }  # fmt: skip
    text = audit((await shop.get(f"/orders/{order_id}")).text).plain_text
    assert "Thank you, your order is confirmed" in text and "Ada Lovelace" in text
    history = await shop.get("/account/orders")
    assert history.status_code == 200
    assert any(a.get("href") == f"/orders/{order_id}" for a in audit(history.text).all("a"))
    account = audit((await shop.get("/account")).text)
    assert any(a.get("href") == "/account/orders" for a in account.all("a"))


async def test_prices_and_delivery_in_the_chosen_currency(
    shop: httpx.AsyncClient, orders, currency, audit
):
    await add(shop, audit)
    await post_form(shop, audit, "/", "/currency", currency="EUR", next="/")

    response = await shop.post(
        "/checkout/shipping-options",
        data={
            **GOOD,
            "csrf_token": hidden(audit, (await shop.get("/checkout")).text, "csrf_token"),
        },
    )

    text = audit(response.text).plain_text
    assert "€22.32" in text  # the pour-over: 2400 * 0.93
    assert "€4.64" in text  # standard delivery: 499 * 0.93
    assert "€26.96" in text  # the total
    assert currency.conversions[-1]["items"][-2:] == [
        {"amount": 499, "currency": "USD"},
        {"amount": 1499, "currency": "USD"},
    ]
    response = await place(shop, audit)
    assert orders.bodies[-1]["currency"] == "EUR"


@pytest.mark.parametrize(
    ("number", "message"),
    [(DECLINED, "Your card was declined."),
     ("4000 0000 0000 9995", "Your card has insufficient funds.")],
)  # fmt: skip
async def test_a_declined_card_is_shown_at_the_card_number_and_the_cart_is_kept(
    shop: httpx.AsyncClient, orders, cart, audit, number: str, message: str
):
    await add(shop, audit, quantity="3")
    owner = cart.owners_seen[-1]

    response = await place(shop, audit, card_number=number)

    assert response.status_code == 402
    html = response.text
    assert error_of(audit, html, "card_number") == f"Error: {message}"
    number_field = field(audit, html, "card_number")
    assert number_field["value"] == "" and "autofocus" in number_field
    assert "enter your card number again" in audit(html).plain_text
    assert field(audit, html, "card_cvc")["value"] == ""
    assert field(audit, html, "email")["value"] == "grace@example.com"
    assert field(audit, html, "line1")["value"] == "Unter den Linden 1"
    assert field(audit, html, "exp_year")["value"] == "2030"
    assert number.replace(" ", "") not in html and number not in html
    assert cart.lines_of(owner) == {"ceramic-pour-over": 3}
    assert "Cart (3)" in audit(html).plain_text


async def test_a_declined_card_is_shown_even_while_cart_is_away(
    shop: httpx.AsyncClient, orders, cart, audit
):
    """orders refused the card; cart then fails before the page's summary is read (its
    Postgres restarting): the refusal with its reason, not "the cart is taking a short
    break". Found by tests/system/test_backing_restarts_under_load.py."""
    await add(shop, audit, quantity="2")

    async def cart_goes() -> None:
        cart.fail_with = 503

    orders.meanwhile = cart_goes
    response = await place(shop, audit, card_number=DECLINED)

    assert response.status_code == 402
    assert error_of(audit, response.text, "card_number").startswith("Error: Your card was declined")
    assert "Your cart is kept, but it can't be shown just now" in audit(response.text).plain_text


async def test_a_cart_over_the_payment_limit_says_what_to_do_before_any_card_is_typed(
    shop: httpx.AsyncClient, orders, cart, audit
):
    await add(shop, audit, quantity="3")  # 3 x $24.00
    orders.limits["USD"] = 7000  # the most one card payment may be, orders says
    sentence = orders.limit_message("USD")

    cart_page = await shop.get("/cart")

    assert sentence in audit(cart_page.text).plain_text
    assert not any(a.get("href") == "/checkout" for a in audit(cart_page.text).all("a"))
    checkout = await shop.get("/checkout")
    assert checkout.status_code == 200
    assert sentence in audit(checkout.text).plain_text
    names = {f.get("name") for f in audit(checkout.text).all("input")}
    assert "card_number" not in names and "card_cvc" not in names
    assert "Place order" not in audit(checkout.text).plain_text
    refused = await shop.post(
        "/checkout", data={**GOOD, "csrf_token": hidden(audit, checkout.text, "csrf_token"),
                           "idempotency_key": hidden(audit, checkout.text, "idempotency_key")},
    )  # fmt: skip
    assert refused.status_code == 409  # a form posted anyway: orders' refusal, in words
    assert sentence in audit(refused.text).plain_text
    assert "Input should be" not in refused.text
    assert cart.lines_of(cart.owners_seen[-1]) == {"ceramic-pour-over": 3}


async def test_a_cart_within_the_payment_limit_offers_the_checkout(
    shop: httpx.AsyncClient, orders, audit
):
    await add(shop, audit, quantity="3")
    orders.limits["USD"] = 7200  # exactly the subtotal

    page = audit((await shop.get("/cart")).text)

    assert any(a.get("href") == "/checkout" for a in page.all("a"))
    assert orders.limit_message("USD") not in page.plain_text


@pytest.mark.parametrize("budget_ms", [400])
async def test_a_refusal_after_the_page_budget_is_still_shown_at_the_card_number(
    shop: httpx.AsyncClient, orders, cart, audit, budget_ms: int
):
    """A refusal that took longer than a page's budget (the processor-timeout card: orders
    answers 402 after the long call) is still the reason next to the card number: the form
    is redrawn with a budget of its own, not with the page's, already spent."""
    await add(shop, audit, quantity="2")
    orders.delay = 3 * budget_ms / 1000

    response = await place(shop, audit, card_number=DECLINED)

    assert response.status_code == 402, audit(response.text).plain_text
    assert error_of(audit, response.text, "card_number") == "Error: Your card was declined."
    assert cart.lines_of(cart.owners_seen[-1]) == {"ceramic-pour-over": 2}


@pytest.mark.parametrize(
    ("changes", "name"),
    [({"country": "AQ", "postal_code": ""}, "country"), ({"postal_code": "1"}, "postal_code")],
)
async def test_an_address_not_served_is_shown_at_its_field(
    shop: httpx.AsyncClient, orders, cart, audit, changes: dict[str, str], name: str
):
    await add(shop, audit)

    response = await place(shop, audit, **changes)

    assert response.status_code == 422
    assert "deliver" in error_of(audit, response.text, name)
    assert "autofocus" in field(audit, response.text, name)
    assert len(orders.bodies) == 1  # orders said so (and cancelled that order)
    assert cart.lines_of(cart.owners_seen[-1]) == {"ceramic-pour-over": 1}


@pytest.mark.parametrize(
    ("changes", "name", "message"),
    [
        ({"card_number": "4242 4242 4242 4241"}, "card_number", "isn't valid"),
        ({"card_number": "4242"}, "card_number", "12 to 19 digits"),
        ({"card_cvc": "12"}, "card_cvc", "3 digits"),
        ({"email": "grace"}, "email", "email address"),
        ({"city": ""}, "city", "town or city"),
        ({"country": "Germany"}, "country", "two-letter code"),
    ],
)
async def test_a_form_mistake_is_shown_at_its_field_without_asking_orders(
    shop: httpx.AsyncClient, orders, audit, changes: dict[str, str], name: str, message: str
):
    await add(shop, audit)

    response = await place(shop, audit, **changes)

    assert response.status_code == 422
    assert message in error_of(audit, response.text, name)
    assert orders.bodies == []
    assert "There is a problem" in audit(response.text).plain_text


async def test_an_expired_card_is_shown_at_the_expiry(shop: httpx.AsyncClient, orders, audit):
    await add(shop, audit)

    response = await place(shop, audit, exp_month="1", exp_year="2020")

    assert response.status_code == 422
    assert "expired" in error_of(audit, response.text, "exp_month")
    assert orders.bodies == []


async def test_orders_failing_says_the_order_may_be_placed_and_check_again_finds_none(
    shop: httpx.AsyncClient, orders, cart, audit
):
    await add(shop, audit, quantity="2")
    orders.fail_with = 500
    _, tokens = await checkout_form(shop, audit)

    response = await shop.post("/checkout", data={**GOOD, **tokens})

    assert response.status_code == 202, response.text
    text = audit(response.text).plain_text
    assert "Your order may have been placed" in text
    assert "e-mail the confirmation to grace@example.com" in text
    assert "unavailable" not in text.lower()
    assert hidden(audit, response.text, "idempotency_key") == tokens["idempotency_key"]
    assert cart.lines_of(cart.owners_seen[-1]) == {"ceramic-pour-over": 2}
    orders.fail_with = None
    again = await shop.post(
        "/checkout/status",
        data={"csrf_token": hidden(audit, response.text, "csrf_token"),
              "idempotency_key": tokens["idempotency_key"]},
    )  # fmt: skip
    assert again.status_code == 200
    assert "No order was placed with this checkout" in audit(again.text).plain_text


async def test_orders_own_503_with_its_cancelled_order_is_shown_on_the_form(
    shop: httpx.AsyncClient, orders, audit
):
    """orders answered, and said nothing was charged: that is an answer, not a lost one."""
    await add(shop, audit)
    orders.shop_down = True

    response = await place(shop, audit)

    assert response.status_code == 503  # the form again, with orders' reason above it
    text = audit(response.text).plain_text
    assert "Checkout is unavailable right now. Nothing was charged; your cart is kept." in text
    assert "may have been placed" not in text


@pytest.mark.parametrize("extra_settings", [{"CHECKOUT_TIMEOUT_MS": 1000}])
async def test_an_answer_lost_to_a_timeout_says_may_be_placed_and_check_again_finds_it(
    shop: httpx.AsyncClient, orders, audit, extra_settings: dict[str, Any]
):
    """orders placed the order but its answer came too late: the page says the order may
    have been placed, and "Check again" (the same key) goes to the order's page."""
    await add(shop, audit)
    orders.delay = 2.0
    _, tokens = await checkout_form(shop, audit)

    response = await shop.post("/checkout", data={**GOOD, **tokens})

    assert response.status_code == 202, response.text
    assert "Your order may have been placed" in audit(response.text).plain_text
    check = {"csrf_token": hidden(audit, response.text, "csrf_token"),
             "idempotency_key": tokens["idempotency_key"]}  # fmt: skip
    for _ in range(50):  # orders is still at it; bounded: 5 s
        if orders.orders:
            break
        await asyncio.sleep(0.1)
    again = await shop.post("/checkout/status", data=check)
    assert again.status_code == 303, again.text
    [placed] = orders.orders.values()
    assert again.headers["location"] == f"/orders/status/{placed['token']}"
    assert (await shop.get(again.headers["location"])).status_code == 200


async def test_check_again_for_a_key_this_session_never_had_looks_nothing_up(
    shop: httpx.AsyncClient, orders, audit
):
    await add(shop, audit)
    _, tokens = await checkout_form(shop, audit)
    response = await shop.post(
        "/checkout/status", data={"csrf_token": tokens["csrf_token"], "idempotency_key": "x" * 32}
    )
    assert response.status_code == 303 and response.headers["location"] == "/checkout"


async def test_a_double_post_with_one_key_makes_one_order(shop: httpx.AsyncClient, orders, audit):
    await add(shop, audit)
    _, tokens = await checkout_form(shop, audit)

    first = await shop.post("/checkout", data={**GOOD, **tokens})
    second = await shop.post("/checkout", data={**GOOD, **tokens})

    assert orders.keys_seen == [tokens["idempotency_key"]] * 2
    assert len(orders.orders) == 1
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]


async def test_the_same_key_with_other_details_asks_to_check_them(
    shop: httpx.AsyncClient, orders, audit
):
    await add(shop, audit)
    _, tokens = await checkout_form(shop, audit)
    await shop.post("/checkout", data={**GOOD, **tokens, "card_number": DECLINED})

    again = await shop.post("/checkout", data={**GOOD, **tokens})

    assert again.status_code == 422
    assert "Your details changed" in audit(again.text).plain_text
    assert len(orders.orders) == 1
    fresh = hidden(audit, again.text, "idempotency_key")
    assert fresh != tokens["idempotency_key"]
    assert (
        await shop.post("/checkout", data={**GOOD, **tokens, "idempotency_key": fresh})
    ).status_code == 303


async def test_a_key_this_session_never_issued_is_refused(shop: httpx.AsyncClient, orders, audit):
    await add(shop, audit)
    _, tokens = await checkout_form(shop, audit)

    response = await shop.post("/checkout", data={**GOOD, **tokens, "idempotency_key": "x" * 32})

    assert response.status_code == 409
    assert "had expired" in audit(response.text).plain_text
    assert orders.bodies == []


async def test_a_post_without_csrf_is_refused(shop: httpx.AsyncClient, orders, audit):
    await add(shop, audit)
    _, tokens = await checkout_form(shop, audit)

    response = await shop.post(
        "/checkout", data={**GOOD, "idempotency_key": tokens["idempotency_key"]}
    )

    assert response.status_code == 403
    assert orders.bodies == []


@pytest.mark.parametrize("extra_settings", [{"LOG_LEVEL": "debug"}])
async def test_card_data_is_never_in_the_session_store_nor_the_logs(
    shop: httpx.AsyncClient, orders, audit, backing, capsys: pytest.CaptureFixture[str]
):
    await add(shop, audit)
    await place(shop, audit, card_number=DECLINED)
    await place(shop, audit, card_number="4242 4242 4242 4241")  # refused by the form itself
    await place(shop, audit)

    secrets = [CARD, CARD.replace(" ", ""), DECLINED, DECLINED.replace(" ", ""), "424242424241"]
    async with Redis.from_url(backing.admin_redis_url) as valkey:  # the frontend may not SCAN
        values = [await valkey.get(key) async for key in valkey.scan_iter("frontend:*")]
    stored = b" ".join(value for value in values if value)
    assert stored  # the sessions are there
    for secret in secrets:
        assert secret.encode() not in stored
    keys, strings = _keys_and_strings([json.loads(value) for value in values if value])
    assert not [key for key in keys if "card" in key.lower() or "cvc" in key.lower()]
    assert CVC not in strings
    logged = capsys.readouterr()
    assert "/checkout" in logged.out  # the log was captured, at debug level
    for secret in secrets:
        assert secret not in logged.out + logged.err


def _keys_and_strings(data: Any) -> tuple[set[str], set[str]]:
    """Every dict key and every string anywhere in decoded JSON."""
    keys: set[str] = set()
    strings: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            keys.add(key)
            more_keys, more_strings = _keys_and_strings(value)
            keys |= more_keys
            strings |= more_strings
    elif isinstance(data, list):
        for item in data:
            more_keys, more_strings = _keys_and_strings(item)
            keys |= more_keys
            strings |= more_strings
    elif isinstance(data, str):
        strings.add(data)
    return keys, strings


async def test_a_processing_order_goes_to_its_page_which_says_so(
    shop: httpx.AsyncClient, orders, audit
):
    orders.processing = True
    await add(shop, audit)

    response = await place(shop, audit)

    assert response.status_code == 303
    text = audit((await shop.get(response.headers["location"])).text).plain_text
    assert "We're finishing your order" in text


async def _guest_order(shop: httpx.AsyncClient, audit) -> str:
    await add(shop, audit)
    response = await place(shop, audit)
    assert response.status_code == 303
    return str(response.headers["location"])


async def test_a_wrong_guest_link_is_a_404_page(shop: httpx.AsyncClient, orders, audit):
    await _guest_order(shop, audit)

    for token in ["A" * 43, "short", "not%20a%20token"]:
        response = await shop.get(f"/orders/status/{token}")
        assert response.status_code == 404
        assert "There is no order at this address" in audit(response.text).plain_text


async def test_the_guest_link_works_from_another_browser(
    app: Any, shop: httpx.AsyncClient, orders, audit
):
    link = await _guest_order(shop, audit)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as other:
        assert (await other.get(link)).status_code == 200
        order_id = next(iter(orders.orders))
        assert (await other.get(f"/orders/{order_id}")).status_code == 404  # not its visitor


async def test_another_user_s_order_is_a_404_page(
    app: Any, shop: httpx.AsyncClient, accounts, orders, audit
):
    await sign_up(shop, audit, accounts)
    await add(shop, audit)
    location = (await place(shop, audit, email="ada@example.com")).headers["location"]
    assert (await shop.get(location)).status_code == 200

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as mallory:
        await sign_up(mallory, audit, accounts, email="mallory@example.com")
        response = await mallory.get(location)
        assert response.status_code == 404
        assert "Grace" not in response.text and "Unter den Linden" not in response.text
        history = await mallory.get("/account/orders")
        assert "You haven't placed an order yet." in audit(history.text).plain_text
    assert (await shop.get("/orders/not-a-uuid")).status_code == 404


async def test_the_history_needs_a_signed_in_user(shop: httpx.AsyncClient):
    response = await shop.get("/account/orders")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=/account/orders")


async def test_a_token_orders_no_longer_trusts_signs_the_shopper_out_not_a_503(
    shop: httpx.AsyncClient, accounts, audit
):
    """As after a restore onto new keys: the session still names the shopper, but the token
    it holds is one the services refuse (401). Signed out and asked to sign in, not 503."""
    await sign_up(shop, audit, accounts)
    assert (await shop.get("/account/orders")).status_code == 200
    assert 'class="account-nav__name"' in (await shop.get("/")).text  # signed in
    accounts.access.clear()  # every access token the shop holds is now refused

    response = await shop.get("/account/orders")

    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"].startswith("/sign-in?next=/account/orders")
    again = await shop.get("/account/orders")  # signed out now, not refused again
    assert again.status_code == 303
    assert 'class="account-nav__name"' not in (await shop.get("/")).text


async def test_without_javascript_update_options_reloads_the_form(
    shop: httpx.AsyncClient, shipping, audit
):
    await add(shop, audit)
    page, tokens = await checkout_form(shop, audit)
    assert any(
        b.get("formaction") == "/checkout/shipping-options" for b in audit(page.text).all("button")
    )

    response = await shop.post(
        "/checkout/shipping-options",
        data={**GOOD, "csrf_token": tokens["csrf_token"], "shipping_option": ""},
    )

    assert response.status_code == 200
    html = response.text
    assert audit(html).heading == "Checkout"
    assert shipping.quotes[-1]["destination"] == {"country": "DE", "postal_code": "10117"}
    options = [f for f in audit(html).all("input") if f.get("name") == "shipping_option"]
    assert [o["value"] for o in options] == ["standard", "express"]
    assert "checked" in options[0]  # the first is chosen for them
    assert field(audit, html, "line1")["value"] == "Unter den Linden 1"
    assert field(audit, html, "card_number")["value"] == ""
    assert "Total $28.99" in audit(html).plain_text


async def test_with_htmx_the_options_and_summary_are_swapped_in(
    shop: httpx.AsyncClient, shipping, audit
):
    await add(shop, audit)
    page, tokens = await checkout_form(shop, audit)
    country = field(audit, page.text, "country")
    assert country["hx-post"] == "/checkout/shipping-options"
    form = next(f for f in audit(page.text).all("form") if f.get("action") == "/checkout")
    assert "card_number" not in (form.get("hx-params") or "")  # the card never goes along

    response = await shop.post(
        "/checkout/shipping-options",
        data={
            "csrf_token": tokens["csrf_token"],
            "country": "FR",
            "postal_code": "75001",
            "saved_address": "new",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    html = response.text
    assert "<html" not in html and 'id="shipping-options"' in html
    assert 'id="order-summary"' in html and 'hx-swap-oob="true"' in html
    assert "Express" in html and "$14.99" in html
    assert shipping.quotes[-1]["destination"] == {"country": "FR", "postal_code": "75001"}

    unserved = await shop.post(
        "/checkout/shipping-options",
        data={"csrf_token": tokens["csrf_token"], "country": "AQ", "saved_address": "new"},
        headers={"HX-Request": "true"},
    )
    assert "We don't deliver to this address." in audit(unserved.text).plain_text


async def test_shipping_down_shows_no_options_and_says_so(shop: httpx.AsyncClient, shipping, audit):
    shipping.fail_with = 500
    await add(shop, audit)
    _, tokens = await checkout_form(shop, audit)

    response = await shop.post(
        "/checkout/shipping-options", data={**GOOD, "csrf_token": tokens["csrf_token"]}
    )

    assert response.status_code == 200
    assert "Delivery options can't be shown right now" in audit(response.text).plain_text


async def test_a_cart_emptied_meanwhile_is_said_above_the_form(
    shop: httpx.AsyncClient, orders, audit
):
    await add(shop, audit)
    _, tokens = await checkout_form(shop, audit)
    await post_form(shop, audit, "/cart", "/cart/items/ceramic-pour-over/remove")

    response = await shop.post("/checkout", data={**GOOD, **tokens})

    assert response.status_code == 409
    text = audit(response.text).plain_text
    assert "There is a problem Your cart is empty." in text


async def test_a_user_s_saved_addresses_stay_on_the_form_after_an_error(
    shop: httpx.AsyncClient, accounts, orders, audit
):
    await sign_up(shop, audit, accounts)
    fields = {"recipient": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield",
              "postal_code": "12345", "country": "US"}  # fmt: skip
    await post_form(shop, audit, "/account", "/account/addresses", **fields)
    await add(shop, audit)

    response = await place(shop, audit, card_number=DECLINED)

    assert response.status_code == 402
    saved = [f for f in audit(response.text).all("input") if f.get("name") == "saved_address"]
    assert len(saved) == 2 and "checked" in saved[-1]  # the new address stays chosen
    assert field(audit, response.text, "line1")["value"] == "Unter den Linden 1"


async def test_the_checkout_page_asks_cart_once(shop: httpx.AsyncClient, cart, audit):
    """The page's cart with its products comes in one call (the current cart with
    `include=products`), not the cart's id first and its products in a second call."""
    await add(shop, audit, quantity="2")
    calls = len(cart.owners_seen)
    page = await shop.get("/checkout")
    assert page.status_code == 200, page.text
    assert "Ceramic Pour-Over" in audit(page.text).plain_text
    assert len(cart.owners_seen) == calls + 1
