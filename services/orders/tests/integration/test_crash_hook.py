"""The crash-point hook as the app wires it (MOSAIC_TEST_CRASH_AFTER): a checkout passes
every point of the system tests' sweep, in the saga's order. Here the hook records the
points instead of killing the process (`tests/system/test_checkout_crash_points.py`
kills it at each one)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from chassis.testing import ServiceKeys
from orders import crash

from services.orders.tests.stand_ins import StandIns

from .driving import DECLINED_CARD, GOOD_CARD, Shopper, orders_client, place

CONFIRMED = [
    "pricing", "quoting", "charging", "charged", "shipping", "shipped", "confirmed",
    "cart_cleared",
]  # fmt: skip
CANCELLED = ["pricing", "quoting", "charging", "compensating", "cancelled"]  # a declined card


@pytest.mark.parametrize(("card", "points"), [(GOOD_CARD, CONFIRMED), (DECLINED_CARD, CANCELLED)])
async def test_a_checkout_passes_every_crash_point_in_order(
    card: dict[str, object],
    points: list[str],
    database_url: str,
    stand_ins: StandIns,
    keys: ServiceKeys,
    visitor: Callable[[], Shopper],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passed: list[str] = []
    monkeypatch.setattr(crash, "crash_after", lambda after: passed.append)
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    hooked = orders_client(database_url, stand_ins, keys, MOSAIC_TEST_CRASH_AFTER="shipped")
    async with hooked as http:
        response: httpx.Response = await place(http, shopper, card=card)
    assert response.status_code in (201, 402), response.text
    assert passed == points


def test_the_two_checkouts_pass_every_point() -> None:
    assert set(CONFIRMED) | set(CANCELLED) == crash.POINTS
