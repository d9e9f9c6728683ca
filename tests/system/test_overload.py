"""Overload protection with real processes, against a real `mosaic up` and service
processes of the test's own started with the environment the runner gave its own ones
(so they share its databases, Valkey, certificates and keys):

- a frontend flooded past its bound (MAX_IN_FLIGHT) refuses the excess at once with 503,
  Retry-After and a problem+json body, serves the rest, and counts what it shed;
- (three times a frontend's measured capacity: tests/quiet/test_overload_knee.py, a stage
  of its own, as it measures that capacity)
- payments down: orders' breaker for it opens, the checkout page says at once that
  checkout is unavailable and the cart is kept (not a 500, not "may have been placed"),
  the cart is intact; payments back, the breaker's probe closes it and the same cart is
  ordered.
"""

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import Forms, ServiceProcess, Shopper
from mosaic_testing.checkout_shop import CheckoutShop as Shop
from mosaic_testing.checkout_shop import checkout_shop

pytestmark = pytest.mark.system

FLOOD = 48  # requests at once, against a bound of 4
BOUND = 4


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with checkout_shop(tmp_path_factory.mktemp("overload") / "home") as running:
        yield running


def metric(ops_port: int, name: str, **labels: str) -> float:
    """One sample of a process's /metrics (0 when it has none yet)."""
    text = httpx.get(f"http://127.0.0.1:{ops_port}/metrics", timeout=10).text
    wanted = "".join(f'(?=[^}}]*{key}="{value}")' for key, value in labels.items())
    found = re.search(rf"^{name}\{{{wanted}[^}}]*\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def bounded_frontend(
    shop: Shop, folder: Path, bound: int, *, retry_after: int, replica: str
) -> ServiceProcess:
    """A frontend of the test's own beside the shop's, serving at most `bound` at once."""
    env = {**shop.frontend_env, "MAX_IN_FLIGHT": str(bound),
           "SHED_RETRY_AFTER_SECONDS": str(retry_after), "MOSAIC_REPLICA": replica}  # fmt: skip
    return ServiceProcess("frontend", env, folder / f"frontend-{replica}.log")


async def flood(url: str, count: int) -> list[tuple[int, float, httpx.Headers, str]]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def one() -> tuple[int, float, httpx.Headers, str]:
            started = time.monotonic()
            answer = await http.get("/")
            return answer.status_code, time.monotonic() - started, answer.headers, answer.text

        return await asyncio.gather(*(one() for _ in range(count)))


@pytest.mark.timeout(300)
def test_a_flooded_frontend_sheds_the_excess_at_once_with_503_and_retry_after(
    shop: Shop, tmp_path: Path
) -> None:
    frontend = bounded_frontend(shop, tmp_path, BOUND, retry_after=2, replica="flooded")
    try:
        url = f"http://127.0.0.1:{frontend.port}"
        assert httpx.get(url, timeout=30).status_code == 200  # warm: the page works

        answers = asyncio.run(flood(url, FLOOD))

        statuses = [status for status, *_ in answers]
        assert set(statuses) <= {200, 503}, statuses  # no 500, no timeout
        served = [a for a in answers if a[0] == 200]
        shed = [a for a in answers if a[0] == 503]
        assert len(served) >= BOUND, statuses  # the bound's worth of pages was served
        assert len(shed) >= FLOOD // 2, statuses  # most of the flood was refused
        for _, _, headers, body in shed:
            assert headers["retry-after"] == "2"
            assert headers["content-type"] == "application/problem+json"
            assert '"overloaded"' in body or "/overloaded" in body
        # Refused at once: the slowest refusal came before the slowest page, which
        # queued for nothing (a refusal does no work, so waits for nothing).
        assert max(s for _, s, _, _ in shed) < max(s for _, s, _, _ in served)
        assert metric(frontend.ops, "mosaic_http_server_requests_shed_total",
                      service="frontend") == len(shed)  # fmt: skip
        slowest_refusal = max(s for _, s, _, _ in shed)
        print(f"flood of {FLOOD} at a bound of {BOUND}: {len(served)} served, {len(shed)} shed; "
              f"slowest refusal {slowest_refusal * 1000:.0f} ms")  # fmt: skip
        # Afterwards the process serves again as before.
        assert httpx.get(url, timeout=30).status_code == 200
    finally:
        frontend.stop()


@pytest.mark.timeout(300)
def test_payments_down_checkout_is_unavailable_at_once_and_the_cart_is_kept(
    shop: Shop, tmp_path: Path
) -> None:
    payments_port = free_port()
    own: list[ServiceProcess] = []
    payments = ServiceProcess(
        "payments", {**shop.payments_env, "MOSAIC_REPLICA": "down"},
        tmp_path / "payments.log", port=payments_port,
    )  # fmt: skip
    own.append(payments)
    try:
        orders = ServiceProcess(
            "orders",
            {**shop.orders_env, "PAYMENTS_URL": f"https://127.0.0.1:{payments_port}",
             "MOSAIC_REPLICA": "breaker"},
            tmp_path / "orders.log",
        )  # fmt: skip
        own.append(orders)
        frontend = ServiceProcess(
            "frontend",
            {**shop.frontend_env, "ORDERS_URL": f"https://127.0.0.1:{orders.port}",
             "MOSAIC_REPLICA": "breaker"},
            tmp_path / "frontend.log",
        )  # fmt: skip
        own.append(frontend)
        payments.stop()  # down: nothing listens on its port any more

        with Shopper(f"http://127.0.0.1:{frontend.port}") as shopper:
            product = shopper.products()[0]
            shopper.add_to_cart(product, 2)
            lines_before = shopper.open("/cart").cart_lines()

            for attempt in range(2):  # the first opens the breaker; the second finds it open
                started = time.monotonic()
                answer = shopper.place_order(shopper.checkout_form())
                took = time.monotonic() - started
                page = Forms(answer.text)
                assert answer.status_code == 503, (answer.status_code, page.text)
                assert "Checkout is unavailable right now" in page.text, page.text
                assert "your cart is kept" in page.text
                assert "may have been placed" not in page.text
                assert took < 10, (attempt, took)  # not the saga's 20 s deadline
                print(f"payments down, checkout {attempt + 1}: 503 after {took * 1000:.0f} ms")

            assert metric(orders.ops, "mosaic_http_client_breaker_state",
                          callee="payments") == 2  # fmt: skip
            assert metric(orders.ops, "mosaic_http_client_breaker_refused_total",
                          callee="payments") >= 1  # fmt: skip
            assert shopper.open("/cart").cart_lines() == lines_before  # the cart is intact

            # payments back where orders calls it: the breaker's probe (after its 5 s
            # open) finds it and closes, and the same cart is ordered.
            back = ServiceProcess(
                "payments", {**shop.payments_env, "MOSAIC_REPLICA": "back"},
                tmp_path / "payments-back.log", port=payments_port,
            )  # fmt: skip
            own.append(back)
            time.sleep(5.5)
            ordered = shopper.place_order(shopper.checkout_form())
            assert ordered.status_code == 303, Forms(ordered.text).text
            assert metric(orders.ops, "mosaic_http_client_breaker_state",
                          callee="payments") == 0  # fmt: skip
            assert shopper.open("/cart").cart_lines() == []
    finally:
        for process in reversed(own):
            process.stop()
