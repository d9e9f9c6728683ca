"""Shoppers at the shop's pages, as guests without JavaScript, each checkout recorded.

A shopper fills a cart, opens the checkout and places the order with one of the test cards
(70 % good, 15 % declined, 15 % processor timeout) under an e-mail address of its own, so
orders' rows say which checkout made which order. When the page says the order may have
been placed, the shopper presses "Check again" until it says more (or gives up after a
bound); when it leads to the order's page, the shopper reads it. A shopper that "presses
again" (`PressingAgain`) reloads a page or presses the same button once more when the
connection fails, as a person does.
"""

import random
import re
import threading
import time
from dataclasses import dataclass, field

import httpx

from mosaic_testing import Forms, Shopper
from mosaic_testing.chaos.answers import (
    DECLINED,
    GOOD,
    PROCESSOR_TIMES_OUT,
    Checkout,
    OrderPage,
    Said,
    card_error,
    order_page,
    said,
)

CARDS = [GOOD] * 14 + [DECLINED] * 3 + [PROCESSOR_TIMES_OUT] * 3  # 70 / 15 / 15 %
CHECK_AGAIN_PAUSE = 2.0  # seconds a shopper waits before pressing "Check again"
ORDER_ID = re.compile(r'<dd class="order__id">([^<]+)</dd>')
LEDE = re.compile(r'<p class="order__lede">(.*?)</p>', re.S)  # a cancelled order's reason


@dataclass
class Tally:
    """Every checkout of the run, and the shoppers that did not reach "Place order"."""

    checkouts: list[Checkout] = field(default_factory=list)
    setup_failures: list[str] = field(default_factory=list)
    pressed_again: int = 0  # requests sent once more after their connection failed
    lock: threading.Lock = field(default_factory=threading.Lock)

    def press_again(self) -> None:
        with self.lock:
            self.pressed_again += 1

    def add(self, checkout: Checkout) -> None:
        with self.lock:
            self.checkouts.append(checkout)

    def failed(self, why: str) -> None:
        with self.lock:
            self.setup_failures.append(why)

    def count(self) -> int:
        with self.lock:
            return len(self.checkouts)


class PressingAgain(httpx.BaseTransport):
    """A person at a page whose connection failed (reset, refused, cut mid-answer): they
    wait a moment and press again, a few times. Safe for "Place order": the form carries
    its Idempotency-Key, so a second press is the same order. Counted in the tally."""

    PRESSES = 5
    PAUSE = 0.5  # seconds before pressing again

    def __init__(self, tally: Tally) -> None:
        self._tally = tally
        self._transport = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # the form again for each press
        for press in range(1, self.PRESSES + 1):
            try:
                return self._transport.handle_request(request)
            except httpx.TransportError:
                if press == self.PRESSES:
                    raise
                self._tally.press_again()
                time.sleep(self.PAUSE)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._transport.close()


def shop_until(
    url: str,
    *,
    shopper_no: int,
    run: str,
    t0: float,
    until: float,
    tally: Tally,
    check_again_for: float,
    presses_again: bool = False,
    enough: threading.Event | None = None,
) -> None:
    """One shopper's checkouts, one after another, until `until` (time.monotonic()) or
    until `enough` is set."""
    rng = random.Random(f"{run}-{shopper_no}")  # noqa: S311  which card, not a secret
    n = 0
    while time.monotonic() < until and not (enough and enough.is_set()):
        n += 1
        transport = PressingAgain(tally) if presses_again else None
        with Shopper(url, timeout=90, transport=transport) as shopper:
            try:
                products = shopper.products()
                shopper.add_to_cart(rng.choice(products), rng.randint(1, 3))
                form = shopper.checkout_form()
            except (AssertionError, httpx.HTTPError, IndexError) as error:
                tally.failed(f"{type(error).__name__}: {str(error)[:120]}")
                time.sleep(0.5)  # the shop is short of a service: do not spin
                continue
            card = rng.choice(CARDS)
            checkout = Checkout(f"chaos-{run}-{shopper_no}-{n}@example.com", card,
                                round(time.monotonic() - t0, 1))  # fmt: skip
            try:
                answer = shopper.place_order({**form, "email": checkout.email, "card_number": card})
                follow(shopper, checkout, answer, check_again_for)
            except (httpx.HTTPError, AssertionError) as error:
                checkout.said.append(Said.OTHER)
                checkout.detail = f"{type(error).__name__}: {str(error)[:160]}"
            tally.add(checkout)


def follow(shopper: Shopper, checkout: Checkout, answer: httpx.Response, bound: float) -> None:
    """Record what "Place order" said, then press "Check again" while the page offers it."""
    checkout.status = answer.status_code
    give_up = time.monotonic() + bound
    while True:
        kind, page = said(answer)
        if not checkout.said or checkout.said[-1] is not kind:
            checkout.said.append(kind)
        if kind is Said.REFUSED:
            checkout.reason_shown = card_error(answer)
        if kind in (Said.UNAVAILABLE, Said.OTHER):
            checkout.detail = f"{answer.status_code}: {page.text[:160]}"
        if kind is not Said.MAY_BE_PLACED or time.monotonic() > give_up:
            break
        time.sleep(CHECK_AGAIN_PAUSE)
        answer = shopper.http.post("/checkout/status", data=page.form("/checkout/status"))
    if kind is Said.PLACED:
        checkout.order_link = answer.headers["location"]
        read_order_page(shopper.http, checkout)


def read_order_page(http: httpx.Client, checkout: Checkout) -> None:
    """Open the checkout's order page and note where it says the order stands."""
    opened = http.get(checkout.order_link)
    found = ORDER_ID.search(opened.text)
    if found:
        checkout.order_id = found[1].strip()
    stands = order_page(Forms(opened.text).text) if opened.status_code == 200 else None
    if stands is not None:
        checkout.order_page.append(stands)
        lede = LEDE.search(opened.text)
        if stands is OrderPage.CANCELLED and lede:
            checkout.reason_shown = Forms(lede[1]).text
    else:
        checkout.detail = f"order page {opened.status_code}: {Forms(opened.text).text[:160]}"
