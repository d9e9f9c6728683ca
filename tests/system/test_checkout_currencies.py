"""Paying in every currency the shop offers, against a real `mosaic up`.

A shopper at the shop's pages fills a cart worth about EUR 100, chooses a currency, and
pays: in every currency the currency service offers, the order is confirmed and payments
holds one succeeded charge of the order's total in that currency. Before the per-currency
limits, payments capped every charge at 99,999,999 minor units, so EUR 100 in rupiah
(IDR 1,748,721.00, 174,872,100 minor units) could not be paid, and the shopper learnt it
only after typing the card, in pydantic's words.

A cart over what one card payment may be in its currency (ISK 999,999: the largest the
processor takes, and about EUR 6,700 of the shop's own products) is refused on the cart
page with a sentence naming that limit, and the checkout offers no card fields.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from mosaic.ports import free_port
from mosaic_testing import Forms, Shopper, UpProcess

pytestmark = pytest.mark.system

EUR_100_IN_USD = 10_705  # the shipped rates: USD 1.0705 per EUR


class Shop:
    def __init__(self, up: UpProcess, url: str, prices: dict[str, int], currencies: list[str]):
        self.up, self.url, self.prices, self.currencies = up, url, prices, currencies


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home: Path = tmp_path_factory.mktemp("checkout-currencies") / "home"
    port = free_port()
    with UpProcess(home, port) as up:
        up.wait_ready(timeout=180)
        with up.client("catalog", "frontend") as catalog:
            listed = catalog.get("/v1/products", params={"page_size": 100})
        assert listed.status_code == 200, listed.text
        prices = {p["id"]: p["price"]["amount"] for p in listed.json()["items"]}
        assert {p["price"]["currency"] for p in listed.json()["items"]} == {"USD"}
        with up.client("currency", "frontend") as currency:
            offered = currency.get("/v1/currencies")
        assert offered.status_code == 200, offered.text
        codes = [item["code"] for item in offered.json()["items"]]
        assert {"EUR", "USD", "IDR", "JPY", "ISK"} <= set(codes)
        yield Shop(up, f"http://127.0.0.1:{port}", prices, codes)


def about_eur_100(prices: dict[str, int]) -> dict[str, int]:
    """Two products (id -> units) whose total is nearest EUR 100 (the shipped rates)."""
    carts = [
        {a: qa, b: qb} if a != b else {a: qa + qb}
        for a in prices
        for b in prices
        for qa in (1, 2, 3)
        for qb in (1, 2, 3)
    ]
    best = min(carts, key=lambda c: abs(sum(prices[p] * q for p, q in c.items()) - EUR_100_IN_USD))
    assert abs(sum(prices[p] * q for p, q in best.items()) - EUR_100_IN_USD) < 500, best
    return best


def choose_currency(shopper: Shopper, code: str) -> None:
    chosen = shopper.submit("/", "/currency", currency=code, next="/cart")
    assert chosen.status_code == 303, chosen.text


@pytest.mark.timeout(600)
def test_a_cart_worth_eur_100_is_paid_in_every_offered_currency(shop: Shop) -> None:
    cart = about_eur_100(shop.prices)
    paid: dict[str, dict[str, int | str]] = {}
    with (
        shop.up.client("orders", "frontend") as orders,
        shop.up.client("payments", "orders") as payments,
    ):
        for code in shop.currencies:
            with Shopper(shop.url) as shopper:
                for product, units in cart.items():
                    shopper.add_to_cart(product, units)
                choose_currency(shopper, code)
                cart_page = shopper.open("/cart")
                assert "/checkout" in cart_page.links, (code, cart_page.text)
                assert "single card payment" not in cart_page.text, (code, cart_page.text)
                placed = shopper.place_order(shopper.checkout_form())
                assert placed.status_code == 303, (
                    code,
                    placed.status_code,
                    Forms(placed.text).text,
                )
                token = placed.headers["location"].removeprefix("/orders/status/")
            order = orders.get(f"/v1/orders/by-token/{token}").json()
            assert (order["status"], order["currency"]) == ("confirmed", code), order
            charges = payments.get(
                "/v1/charges", params={"reference": f"order:{order['id']}"}
            ).json()["charges"]
            assert [(c["status"], c["amount"]) for c in charges] == [
                ("succeeded", order["total"])
            ], (code, charges)
            paid[code] = order["total"]
    assert sorted(paid) == sorted(shop.currencies)
    # The case that could not be paid before: EUR 100 in rupiah is over eight digits.
    assert paid["IDR"]["amount"] > 99_999_999  # type: ignore[operator]


def test_a_cart_over_the_limit_in_its_currency_is_refused_on_the_cart_page(shop: Shop) -> None:
    dearest = sorted(shop.prices, key=lambda product: -shop.prices[product])[:8]
    with Shopper(shop.url) as shopper:
        for product in dearest:
            shopper.add_to_cart(product, 10)
        assert "/checkout" in shopper.open("/cart").links  # in USD one payment can take it
        choose_currency(shopper, "ISK")

        cart_page = shopper.open("/cart")

        assert (
            "This order comes to more than ISK 999,999, the most a single card payment can be "
            "in ISK. Remove some items from your cart, or choose another currency, and then "
            "check out."
        ) in cart_page.text, cart_page.text
        assert "/checkout" not in cart_page.links
        checkout = shopper.http.get("/checkout")
        assert checkout.status_code == 200
        assert "ISK 999,999" in Forms(checkout.text).text
        assert 'name="card_number"' not in checkout.text  # no card is typed for nothing
