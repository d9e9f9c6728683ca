"""htmx on top of forms that work without it: the same posts, answered with fragments when
htmx asks (HX-Request), with full pages and redirects when it does not; CSRF either way."""

import json
import re

import httpx
import pytest

from .test_accounts import post_form
from .test_cart import add
from .test_sessions import csrf_of

HTMX = {"HX-Request": "true"}
PRODUCT = "/product/ceramic-pour-over"


async def htmx_post(shop: httpx.AsyncClient, audit, page: str, action: str, **fields: str):
    token = csrf_of(audit, (await shop.get(page)).text)
    return await shop.post(action, data={"csrf_token": token, **fields}, headers=HTMX)


async def test_the_vendored_htmx_is_served_and_configured_without_inline_style(
    shop: httpx.AsyncClient, audit
):
    html = (await shop.get("/")).text
    page = audit(html)

    script = page.all("script")[0]
    served = await shop.get(str(script["src"]))
    assert served.status_code == 200
    assert "htmx" in served.text[:2000]
    assert "immutable" in served.headers["cache-control"]
    config = next(m for m in page.all("meta") if m.get("name") == "htmx-config")
    settings = json.loads(str(config["content"]))
    assert settings["includeIndicatorStyles"] is False
    assert settings["allowEval"] is False


async def test_add_to_cart_with_htmx_answers_a_fragment(shop: httpx.AsyncClient, cart, audit):
    response = await htmx_post(
        shop, audit, PRODUCT, "/cart/items", product_id="ceramic-pour-over", quantity="2"
    )

    assert response.status_code == 200
    assert "<html" not in response.text and "<header" not in response.text
    page = audit(response.text)
    assert "Added to your cart." in page.plain_text
    count = next(s for s in page.all("span") if s.get("id") == "cart-count")
    assert count["hx-swap-oob"] == "true"
    assert re.search(r'id="cart-count"[^>]*>\(2\)<', response.text)
    # The message was shown in place: it does not wait for the next page as a flash.
    assert "Added to your cart." not in (await shop.get("/")).text


async def test_add_to_cart_without_htmx_still_redirects(shop: httpx.AsyncClient, audit):
    response = await add(shop, audit)

    assert response.status_code == 303
    assert "Added to your cart." in audit((await shop.get(PRODUCT)).text).plain_text


async def test_an_htmx_refusal_is_a_fragment_too(shop: httpx.AsyncClient, cart, audit):
    response = await htmx_post(
        shop, audit, PRODUCT, "/cart/items", product_id="ceramic-pour-over", quantity="11"
    )

    assert response.status_code == 200
    assert "Choose a quantity from 1 to 10." in audit(response.text).plain_text
    assert cart.owners_seen == []


async def test_changing_a_quantity_with_htmx_answers_the_cart_contents(
    shop: httpx.AsyncClient, audit
):
    await add(shop, audit)

    response = await htmx_post(shop, audit, "/cart", "/cart/items/ceramic-pour-over", quantity="3")

    assert response.status_code == 200
    text = audit(response.text).plain_text
    assert "Quantity updated." in text and "$72.00" in text and "Subtotal: $72.00" in text
    assert "<html" not in response.text
    assert re.search(r'id="cart-count"[^>]*hx-swap-oob="true">\(3\)<', response.text)


async def test_removing_with_htmx_answers_the_emptied_cart(shop: httpx.AsyncClient, audit):
    await add(shop, audit)

    response = await htmx_post(shop, audit, "/cart", "/cart/items/ceramic-pour-over/remove")

    text = audit(response.text).plain_text
    assert "Removed from your cart." in text and "Your cart is empty." in text
    assert re.search(r">\(0\)<", response.text)


async def test_the_cart_page_works_with_or_without_htmx(shop: httpx.AsyncClient, audit):
    await add(shop, audit)

    page = audit((await shop.get("/cart")).text)

    form = next(f for f in page.all("form") if f.get("action") == "/cart/items/ceramic-pour-over")
    assert form["method"] == "post"  # the plain form stays the baseline
    assert form["hx-post"] == form["action"] and form["hx-target"] == "#cart-contents"
    assert any(d.get("id") == "cart-contents" for d in page.all("div"))


async def test_choosing_a_currency_with_htmx_reloads_the_page(shop: httpx.AsyncClient, audit):
    response = await htmx_post(shop, audit, "/", "/currency", currency="EUR", next=PRODUCT)

    assert response.status_code == 204
    assert response.headers["hx-redirect"] == PRODUCT
    assert "€22.32" in (await shop.get(PRODUCT)).text


async def test_choosing_a_currency_without_htmx_redirects(shop: httpx.AsyncClient, audit):
    response = await post_form(shop, audit, "/", "/currency", currency="EUR", next=PRODUCT)

    assert response.status_code == 303
    assert response.headers["location"] == PRODUCT


@pytest.mark.parametrize(
    "action", ["/cart/items", "/cart/items/ceramic-pour-over", "/currency", "/sign-out"]
)
async def test_htmx_posts_need_the_csrf_token_too(shop: httpx.AsyncClient, cart, audit, action):
    await shop.get(PRODUCT)

    fields = {"product_id": "ceramic-pour-over", "quantity": "1", "currency": "EUR"}
    response = await shop.post(action, data=fields, headers=HTMX)

    assert response.status_code == 403
    assert cart.owners_seen == []
    # htmx swaps the error page in as the whole page, as a browser without it would show.
    assert response.headers["hx-retarget"] == "body"
    assert audit(response.text).heading == "That form couldn't be accepted"


async def test_a_history_restore_gets_the_whole_page(shop: httpx.AsyncClient, audit):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}

    response = await shop.get(PRODUCT, headers=headers)

    assert "<html" in response.text
