"""The charge limit is asked of orders once per currency at a time, and kept a while."""

import asyncio

from chassis.client import ServiceClient
from frontend.clients.orders import ChargeLimit, OrdersClient

LIMIT = ChargeLimit.model_validate(
    {
        "currency": "EUR",
        "max_amount": {"amount": 1000, "currency": "EUR"},
        "shown": "EUR 1000",
        "message": "Too much.",
    }
)


class CountingOrders(OrdersClient):
    def __init__(self, answer: ChargeLimit | None) -> None:
        # Never opened: the ask itself is replaced below.
        super().__init__(ServiceClient("orders", "http://orders.invalid"), checkout_seconds=1.0)
        self.asked: list[str] = []
        self.answer = answer
        self.release = asyncio.Event()

    async def _ask_limit(self, currency: str) -> ChargeLimit | None:
        self.asked.append(currency)
        await self.release.wait()
        return self.answer


async def test_pages_arriving_while_the_limit_is_asked_do_not_ask_again() -> None:
    orders = CountingOrders(LIMIT)
    first = asyncio.create_task(orders.limit("EUR"))
    await asyncio.sleep(0)  # the first page is now waiting on orders
    # No answer yet: the page goes without it, at once (not waiting on the same ask).
    assert await asyncio.wait_for(orders.limit("EUR"), 1) is None
    orders.release.set()
    assert await first == LIMIT
    assert await orders.limit("EUR") == LIMIT  # kept: not asked again
    assert orders.asked == ["EUR"]


async def test_a_kept_limit_is_used_while_it_is_asked_again() -> None:
    orders = CountingOrders(LIMIT)
    orders.release.set()
    assert await orders.limit("EUR") == LIMIT
    orders._limits["EUR"] = (0.0, LIMIT)  # gone stale
    orders.release.clear()
    refresh = asyncio.create_task(orders.limit("EUR"))
    await asyncio.sleep(0)
    # The last answer, at once, while orders is asked again.
    assert await asyncio.wait_for(orders.limit("EUR"), 1) == LIMIT
    orders.release.set()
    assert await refresh == LIMIT
    assert orders.asked == ["EUR", "EUR"]
