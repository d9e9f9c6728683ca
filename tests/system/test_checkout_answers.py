"""What the checkout page tells the shopper when orders' answer is slow or lost, against a
real `mosaic up` and service processes of the test's own started with the environment the
runner gave its own ones (so they share its databases, Valkey, certificates and keys).

A refusal after the page's budget: payments' card processor takes longer to give up than
a page may take (the processor-timeout card), so orders answers 402 after the page's
budget is spent. Before, redrawing the form asked cart for the cart on the spent budget,
and the shopper read "the cart is taking a short break" (503) instead of the reason.

A lost answer: the shopper's frontend calls an orders that SIGKILLs itself
right after the charge is persisted (`MOSAIC_TEST_CRASH_AFTER=shipping`): the card is
charged, and the frontend never hears back. Before, the shopper read "your order wasn't
placed" (503) for an order the recovery then shipped, confirmed and e-mailed. Now the page
says the order may have been placed and will be e-mailed, and "Check again" (the same
Idempotency-Key, at the runner's own frontend: sessions live in Valkey) leads to the
confirmed order once the recovery has finished it.
"""

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mosaic_testing import (
    Forms,
    ServiceProcess,
    Shopper,
    wait_until,
)
from mosaic_testing.checkout_shop import CheckoutShop as Shop
from mosaic_testing.checkout_shop import checkout_shop

# Normal mode only: it SIGKILLs the orders process alone.
pytestmark = pytest.mark.system

PROCESSOR_TIMES_OUT = "4000 1234 5678 9017"  # Stripe-style test card: the processor hangs
LEASE_SECONDS = 10  # the crashing orders': then its order is the recovery's
SAGA_SECONDS = 9


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with checkout_shop(tmp_path_factory.mktemp("checkout-lost-answer") / "home") as running:
        yield running


@pytest.mark.timeout(300)
def test_orders_dying_after_the_charge_says_may_be_placed_and_check_again_finds_it(
    shop: Shop, tmp_path: Path
) -> None:
    orders = ServiceProcess(
        "orders",
        {
            **shop.orders_env,
            "MOSAIC_TEST_CRASH_AFTER": "shipping",  # charged, not yet shipped
            "LEASE_SECONDS": str(LEASE_SECONDS),
            "SAGA_SECONDS": str(SAGA_SECONDS),
            "MOSAIC_REPLICA": "crash",
        },
        tmp_path / "orders.log",
    )
    frontend = None
    try:
        frontend = ServiceProcess(
            "frontend",
            {
                **shop.frontend_env,
                "ORDERS_URL": f"https://127.0.0.1:{orders.port}",
                "MOSAIC_REPLICA": "lost",
            },
            tmp_path / "frontend.log",
        )
        email = "lost-answer@example.com"
        with Shopper(f"http://127.0.0.1:{frontend.port}") as shopper:
            product = shopper.products()[0]
            shopper.add_to_cart(product, 2)
            form = shopper.checkout_form()
            answer = shopper.place_order({**form, "email": email})

            page = Forms(answer.text)
            assert answer.status_code == 202, (answer.status_code, page.text)
            assert "Your order may have been placed" in page.text
            assert f"e-mail the confirmation to {email}" in page.text
            assert "charged only once" in page.text
            assert "unavailable" not in page.text.lower() and "wasn't placed" not in page.text
            check = page.form("/checkout/status")
            assert check["idempotency_key"] == form["idempotency_key"]
            assert orders.process.wait(30) == -signal.SIGKILL, orders.output()
            [placed] = orders.logged("order placed")

            # The dead driver's order is the recovery's once its lease has run out.
            order_id = str(placed["order_id"])

            def recovered() -> bool:
                shop.up.run_job("orders", "recover")
                return _confirmed(shop, order_id)

            wait_until(recovered, 120, "the recovery confirms the crashed checkout's order")

            # "Check again" at the runner's frontend: the session is the shopper's there too.
            with httpx.Client(base_url=shop.url, cookies=shopper.http.cookies) as same:
                again = same.post("/checkout/status", data=check)
                assert again.status_code == 303, Forms(again.text).text
                location = again.headers["location"]
                assert location.startswith("/orders/status/")
                order_page = Forms(same.get(location).text)
        assert "Thank you, your order is confirmed" in order_page.text, order_page.text
        with shop.up.client("payments", "orders") as payments:
            charges = payments.get("/v1/charges", params={"reference": f"order:{order_id}"}).json()[
                "charges"
            ]
        assert [c["status"] for c in charges] == ["succeeded"]
        wait_until(
            lambda: any(email in str(message.get("to")) for message in shop.up.mail()),
            60,
            "the confirmation is e-mailed, as the page said",
        )
    finally:
        orders.stop()
        if frontend is not None:
            frontend.stop()


@pytest.mark.timeout(300)
def test_a_refusal_after_the_page_budget_is_shown_at_the_card_number(
    shop: Shop, tmp_path: Path
) -> None:
    own: list[ServiceProcess] = []
    try:
        payments = ServiceProcess(
            "payments",
            {**shop.payments_env, "PROCESSOR_TIMEOUT_SECONDS": "6", "REQUEST_BUDGET_MS": "12000",
             "MOSAIC_REPLICA": "slow"},
            tmp_path / "payments.log",
        )  # fmt: skip
        own.append(payments)
        orders = ServiceProcess(
            "orders",
            {**shop.orders_env, "PAYMENTS_URL": f"https://127.0.0.1:{payments.port}",
             "PAYMENTS_TIMEOUT_SECONDS": "10", "MOSAIC_REPLICA": "slow"},
            tmp_path / "orders.log",
        )  # fmt: skip
        own.append(orders)
        frontend = ServiceProcess(
            "frontend",
            {**shop.frontend_env, "ORDERS_URL": f"https://127.0.0.1:{orders.port}",
             "REQUEST_BUDGET_MS": "3000", "MOSAIC_REPLICA": "slow"},
            tmp_path / "frontend.log",
        )  # fmt: skip
        own.append(frontend)
        with Shopper(f"http://127.0.0.1:{frontend.port}") as shopper:
            shopper.add_to_cart(shopper.products()[0], 1)
            form = {**shopper.checkout_form(), "card_number": PROCESSOR_TIMES_OUT}

            started = time.monotonic()
            answer = shopper.place_order(form)
            took = time.monotonic() - started

            page = Forms(answer.text)
            assert took > 3, took  # orders' answer came after the page's 3 s budget
            assert answer.status_code == 402, (answer.status_code, page.text)
            assert "The card processor did not answer in time. Nothing was charged" in page.text
            assert 'id="checkout-card-number-error"' in answer.text  # at the card number
            assert "taking a short break" not in page.text
    finally:
        for process in reversed(own):
            process.stop()


def _confirmed(shop: Shop, order_id: str) -> bool:
    with shop.up.client("orders") as admin:
        found = admin.get(f"/v1/admin/orders/{order_id}")
    return found.status_code == 200 and found.json().get("step") == "confirmed"
