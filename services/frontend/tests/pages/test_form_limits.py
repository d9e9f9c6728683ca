"""The shop's forms under the chassis's request limits (MAX_BODY_BYTES, 16 KiB here): a post
too large, or not a form, gets a page in the shop's layout, and nothing reaches the cart."""

from collections.abc import AsyncIterator

import httpx

from .test_sessions import csrf_of

PRODUCT = "/product/ceramic-pour-over"


async def test_a_form_over_the_limit_gets_a_413_page(shop: httpx.AsyncClient, cart, audit):
    token = csrf_of(audit, (await shop.get(PRODUCT)).text)
    fields = {"csrf_token": token, "product_id": "ceramic-pour-over", "note": "x" * 17_000}

    response = await shop.post("/cart/items", data=fields)

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "That form submission is too large." in audit(response.text).plain_text
    assert cart.owners_seen == []


async def test_a_streamed_form_is_counted_as_it_arrives(shop: httpx.AsyncClient, cart, audit):
    """No Content-Length: the bytes read, not the header, stop it."""
    token = csrf_of(audit, (await shop.get(PRODUCT)).text)

    async def body() -> AsyncIterator[bytes]:
        yield f"csrf_token={token}&product_id=ceramic-pour-over&note=".encode()
        for _ in range(40):
            yield b"x" * 1000

    response = await shop.post(
        "/cart/items",
        content=body(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "That form submission is too large." in audit(response.text).plain_text
    assert cart.owners_seen == []


async def test_a_form_just_under_the_limit_is_taken(shop: httpx.AsyncClient, cart, audit):
    token = csrf_of(audit, (await shop.get(PRODUCT)).text)
    fields = {"csrf_token": token, "product_id": "ceramic-pour-over", "note": "x" * 15_000}

    response = await shop.post("/cart/items", data=fields)

    assert response.status_code == 303, response.text
    assert len(cart.owners_seen) == 1


async def test_json_at_a_form_gets_a_415_page(shop: httpx.AsyncClient, cart, audit):
    token = csrf_of(audit, (await shop.get(PRODUCT)).text)

    response = await shop.post(
        "/cart/items", json={"csrf_token": token, "product_id": "ceramic-pour-over"}
    )

    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert "That form submission isn't one we understand." in audit(response.text).plain_text
    assert cart.owners_seen == []
