"""The idempotency storm: one checkout sent 50 times at once and 50 times more a little
later, all with one Idempotency-Key, makes one order, one charge, one shipment and one
e-mail, and every sender gets the same answer; the key with another body is refused.

Twice: through the shop's pages (what a double-clicked or retried "Place order" does:
one form, one key, one session), and at orders' API as the frontend calls it (where the
answers must be byte for byte the same). Checked at each service that holds a part of
the order (payments' charges and shipping's shipments by the order's reference, read as
the operator) and in the dev mailbox the SMTP sink fills.
"""

import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import (
    FAST_REDELIVERY,
    MODES,
    REDELIVERY_WINDOW,
    Guest,
    Shopper,
    UpProcess,
    holds_for,
    up_args,
    wait_until,
)

pytestmark = pytest.mark.system

STORM = 50  # at once
RETRIES = 50  # one by one over the next seconds, while the saga runs and after it ended
RETRY_SPREAD = 6.0  # seconds
PASSWORD = "quietly drifting lanterns over harbours"
ORDER_PAGE = re.compile(r"^/orders/([0-9a-f-]{36})$")
REUSED = "Your details changed after this order was first sent"


@dataclass
class Shop:
    up: UpProcess
    url: str
    products: list[str]

    def charges(self, order_id: str) -> list[dict[str, Any]]:
        with self.up.client("payments") as payments:
            found = payments.get("/v1/charges", params={"reference": f"order:{order_id}"})
        assert found.status_code == 200, found.text
        charges: list[dict[str, Any]] = found.json()["charges"]
        return charges

    def shipments(self, order_id: str) -> list[dict[str, Any]]:
        with self.up.client("shipping") as shipping:
            found = shipping.get("/v1/shipments", params={"reference": f"order:{order_id}"})
        assert found.status_code == 200, found.text
        items: list[dict[str, Any]] = found.json()["items"]
        return items

    def mail_to(self, email: str) -> list[dict[str, Any]]:
        """Order mail to `email` (not the link that confirmed a shopper's address)."""
        return [
            m
            for m in self.up.mail()
            if email in m["to"] and m["subject"].startswith("Your Mosaic order")
        ]

    def exactly_one_mail(self, email: str) -> dict[str, Any]:
        """Waits for the confirmation, then over a whole redelivery (notifications hands an
        unacknowledged event out again: the shop runs with FAST_REDELIVERY) for a second."""
        wait_until(lambda: bool(self.mail_to(email)), 90, f"an e-mail to {email}")

        def one() -> bool:
            mail = self.mail_to(email)
            assert len(mail) == 1, [m["subject"] for m in mail]
            return True

        holds_for(one, REDELIVERY_WINDOW, f"one e-mail to {email}")
        [mail] = self.mail_to(email)
        return mail


@pytest.fixture(scope="module", params=MODES)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """The shop as separate processes, then once more in one process (the benchmark's
    floor must keep the same promises): one shop per mode for the whole module."""
    home = tmp_path_factory.mktemp("checkout-idempotency") / "home"
    with UpProcess(home, free_port(), *up_args(request.param), extra_env=FAST_REDELIVERY) as up:
        url = up.wait_ready(timeout=180)
        with Shopper(url) as shopper:
            products = shopper.products()
        assert len(products) >= 2, "the seeded catalog shows products on the front page"
        yield Shop(up, url, products)


def storm(send: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """`send` STORM times at once (released together), then RETRIES times spread over the
    next RETRY_SPREAD seconds; every answer, in no particular order."""
    start = threading.Barrier(STORM)
    delays = sorted(random.uniform(0.2, RETRY_SPREAD) for _ in range(RETRIES))

    def together() -> httpx.Response:
        start.wait(timeout=60)
        return send()

    def later(delay: float) -> httpx.Response:
        time.sleep(delay)
        return send()

    with ThreadPoolExecutor(STORM + RETRIES) as pool:
        futures: list[Future[httpx.Response]] = [pool.submit(together) for _ in range(STORM)]
        futures += [pool.submit(later, delay) for delay in delays]
        return [future.result(timeout=180) for future in futures]


def answered(answers: list[httpx.Response]) -> dict[str, int]:
    """How many answers had each status and page title (or problem type): what a failed
    assertion shows, so a stray 503 says which part of the shop was unavailable."""
    seen: dict[str, int] = {}
    for answer in answers:
        title = re.search(r"<title>([^<]*)</title>", answer.text)
        what = title[1] if title else answer.text[:120]
        key = f"{answer.status_code} {what if answer.status_code != 303 else ''}".strip()
        seen[key] = seen.get(key, 0) + 1
    return seen


def test_a_stormed_place_order_in_the_shop_makes_one_order_charge_shipment_and_email(
    shop: Shop,
) -> None:
    email = f"storm-{uuid.uuid4().hex[:12]}@example.com"
    with Shopper(shop.url) as shopper:
        shopper.sign_up(
            "Storm Shopper", email, PASSWORD, mail=shop.up.mail
        )  # so the history counts orders
        shopper.add_to_cart(shop.products[0], 2)
        shopper.add_to_cart(shop.products[1], 1)
        form = {**shopper.checkout_form(), "email": email}
        cookies = dict(shopper.http.cookies)

        def place() -> httpx.Response:
            # One browser's double clicks and retries: the same session, form and key.
            with httpx.Client(base_url=shop.url, cookies=cookies, timeout=120) as browser:
                return browser.post("/checkout", data=form)

        answers = storm(place)

        assert {a.status_code for a in answers} == {303}, answered(answers)
        locations = {a.headers["location"] for a in answers}
        assert len(locations) == 1, locations
        [location] = locations
        matched = ORDER_PAGE.match(location)
        assert matched, location
        order_id = matched[1]

        assert orders_in_history(shopper) == {order_id}, "one order in the shopper's history"
        assert "Confirmed" in shopper.open(location).text
        assert shopper.open("/cart").text.count("Cart (0)") >= 1

        # The same form's key with other details: refused, and nothing new is ordered.
        changed = shopper.place_order({**form, "shipping_option": "express"})
        assert changed.status_code == 422
        assert REUSED in " ".join(changed.text.split())
        assert orders_in_history(shopper) == {order_id}

    assert_one_charge_one_shipment(shop, order_id)
    mail = shop.exactly_one_mail(email)
    assert order_id[:8].upper() in mail["subject"]
    # Greeted by the given name the frontend sent with the order (signed up as "Storm").
    assert mail["text"].splitlines()[0] == "Hello Storm,", mail["text"][:80]


def test_a_stormed_checkout_at_orders_answers_the_same_bytes_and_makes_one_order(
    shop: Shop,
) -> None:
    email = f"storm-api-{uuid.uuid4().hex[:12]}@example.com"
    with shop.up.client("cart", "frontend") as cart, shop.up.client("orders", "frontend") as api:
        guest = Guest(cart, api)
        guest.fill_cart({shop.products[0]: 1, shop.products[1]: 3})
        body, key = Guest.checkout(email), f"storm-{uuid.uuid4()}"

        answers = storm(lambda: guest.place(body, key))

        assert {a.status_code for a in answers} == {201}, {a.status_code for a in answers}
        assert len({a.content for a in answers}) == 1, "every answer the same bytes"
        replayed = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
        assert len(replayed) >= STORM + RETRIES - 1
        order = answers[0].json()
        assert order["status"] == "confirmed"
        assert guest.cart_lines() == {}, "the ordered lines left the cart, once"

        # The same key with another body: 422, and the order stays as it was.
        other = guest.place({**body, "shipping_option": "express"}, key)
        assert other.status_code == 422
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["type"].endswith("idempotency-key-reused")
        assert guest.order(order["id"])["status"] == "confirmed"
        again = guest.place(body, key)
        assert (again.status_code, again.content) == (201, answers[0].content)

    assert_one_charge_one_shipment(shop, order["id"])
    assert [c["amount"] for c in shop.charges(order["id"])] == [order["total"]]
    mail = shop.exactly_one_mail(email)
    assert order["tracking_id"] in mail["text"]
    assert mail["text"].startswith("Thank you for your order!")  # a guest: no name to greet by


def orders_in_history(shopper: Shopper) -> set[str]:
    links = shopper.open("/account/orders").links
    return {m[1] for m in map(ORDER_PAGE.match, links) if m}


def assert_one_charge_one_shipment(shop: Shop, order_id: str) -> None:
    charges = shop.charges(order_id)
    assert [c["status"] for c in charges] == ["succeeded"], charges
    assert charges[0]["net"] == charges[0]["amount"], "nothing refunded"
    shipments = shop.shipments(order_id)
    assert [s["status"] for s in shipments] == ["created"], shipments
