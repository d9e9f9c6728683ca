import asyncio

import pytest
from chassis.concurrency import concurrently
from frontend.clients.catalog import Money, Product
from frontend.web.rendering import picture_url, price


def _product(picture: str) -> Product:
    return Product(
        id="chef-knife",
        name="Chef's Knife",
        category="kitchen",
        price=Money(amount=8900, currency="USD"),
        picture=picture,
    )


@pytest.mark.parametrize(
    ("picture", "url"),
    [
        ("/v1/pictures/chef-knife.svg", "/pictures/chef-knife.svg"),
        ("/v1/pictures/knife-2.svg", "/pictures/knife-2.svg"),
        ("http://catalog:8000/v1/pictures/knife-2.svg?v=3", "/pictures/knife-2.svg"),
        ("/v1/pictures/../../admin.svg", "/pictures/admin.svg"),
        ("/v1/pictures/Weird Name.png", "/pictures/chef-knife.svg"),
        ("", "/pictures/chef-knife.svg"),
    ],
)
def test_picture_url_is_always_our_own(picture: str, url: str) -> None:
    assert picture_url(_product(picture)) == url


def test_price_filter() -> None:
    assert price(Money(amount=8900, currency="USD")) == "$89.00"


async def test_concurrently_returns_both_results() -> None:
    async def value(v: str, delay: float) -> str:
        await asyncio.sleep(delay)
        return v

    assert await concurrently(value("a", 0.01), value("b", 0)) == ("a", "b")


async def test_concurrently_raises_the_failure_itself_and_cancels_the_other() -> None:
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def failing() -> None:
        raise LookupError("gone")

    with pytest.raises(LookupError, match="gone"):
        await concurrently(slow(), failing())
    assert cancelled.is_set()
