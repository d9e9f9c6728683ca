""" "Add to cart" is one call to cart (`POST /v1/carts/current/items`), and still works
against a cart from before that route (a rolling upgrade) with the two calls it knows."""

import httpx

from services.frontend.tests.conftest import PageAudit
from services.frontend.tests.stand_ins.cart import FakeCart

from .test_cart import add, visitor_owners

PRODUCT = "/product/ceramic-pour-over"


async def test_adding_is_one_call_to_cart(
    shop: httpx.AsyncClient, cart: FakeCart, audit: type[PageAudit]
) -> None:
    await shop.get(PRODUCT)  # the visitor's session, before counting
    calls = len(cart.owners_seen)
    response = await add(shop, audit, quantity="2")
    assert response.status_code == 303
    assert len(cart.owners_seen) == calls + 1
    assert cart.lines_of(visitor_owners(cart)[0]) == {"ceramic-pour-over": 2}


async def test_adding_through_an_older_cart_still_works(
    shop: httpx.AsyncClient, cart: FakeCart, audit: type[PageAudit]
) -> None:
    cart.older = True
    for quantity in ("2", "1"):
        response = await add(shop, audit, quantity=quantity)
        assert response.status_code == 303
    page = audit((await shop.get(PRODUCT)).text).plain_text
    assert "Added to your cart." in page
    assert cart.lines_of(visitor_owners(cart)[0]) == {"ceramic-pour-over": 3}
