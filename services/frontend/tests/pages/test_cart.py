"""The cart in the shop: add, change, remove, header count, refusals, outages and merging."""

import httpx

from .test_accounts import PASSWORD, post_form, sign_up
from .test_sessions import csrf_of

PRODUCT = "/product/ceramic-pour-over"


async def add(shop: httpx.AsyncClient, audit, product: str = "ceramic-pour-over", quantity="1"):
    fields = {"product_id": product, "quantity": quantity, "next": f"/product/{product}"}
    return await post_form(shop, audit, f"/product/{product}", "/cart/items", **fields)


def visitor_owners(cart) -> list[str]:
    return [o for o in cart.owners_seen if o.startswith("visitor:")]


async def test_add_to_cart_flashes_and_goes_back(shop: httpx.AsyncClient, cart, audit):
    response = await add(shop, audit, quantity="2")

    assert response.status_code == 303
    assert response.headers["location"] == PRODUCT
    page = audit((await shop.get(PRODUCT)).text).plain_text
    assert "Added to your cart." in page
    assert "Cart (2)" in page
    owner = visitor_owners(cart)[0]
    assert cart.lines_of(owner) == {"ceramic-pour-over": 2}
    assert len(owner.removeprefix("visitor:")) == 32  # token_urlsafe(24)


async def test_the_cart_page_lists_lines_with_totals(shop: httpx.AsyncClient, audit):
    await add(shop, audit, quantity="2")
    await add(shop, audit, "matcha-whisk")

    response = await shop.get("/cart")

    assert response.status_code == 200
    page = audit(response.text)
    assert page.heading == "Your cart"
    text = page.plain_text
    assert "Ceramic Pour-Over" in text and "$24.00" in text and "$48.00" in text
    assert "Matcha Whisk" in text and "$18.50" in text
    assert "Subtotal: $66.50" in text
    assert "Cart (3)" in text
    assert any(i.get("src") == "/pictures/ceramic-pour-over.svg" for i in page.all("img"))
    assert any(f.get("action") == "/cart/items/matcha-whisk/remove" for f in page.all("form"))


async def test_cart_prices_in_the_chosen_currency_in_one_batch(
    shop: httpx.AsyncClient, currency, audit
):
    await add(shop, audit, quantity="2")
    await add(shop, audit, "matcha-whisk")
    await post_form(shop, audit, "/", "/currency", currency="EUR", next="/")
    currency.conversions.clear()

    text = audit((await shop.get("/cart")).text).plain_text

    assert "€22.32" in text or "22.32" in text  # 2400 * 0.93
    assert len(currency.conversions) == 1
    assert len(currency.conversions[0]["items"]) == 2


async def test_an_empty_cart_says_so(shop: httpx.AsyncClient, audit):
    response = await shop.get("/cart")

    assert response.status_code == 200
    assert "Your cart is empty." in audit(response.text).plain_text
    assert "Cart (0)" in audit(response.text).plain_text


async def test_change_quantity_and_remove(shop: httpx.AsyncClient, cart, audit):
    await add(shop, audit)

    changed = await post_form(shop, audit, "/cart", "/cart/items/ceramic-pour-over", quantity="5")
    assert changed.status_code == 303 and changed.headers["location"] == "/cart"
    text = audit((await shop.get("/cart")).text).plain_text
    assert "Quantity updated." in text and "Cart (5)" in text and "$120.00" in text

    removed = await post_form(shop, audit, "/cart", "/cart/items/ceramic-pour-over/remove")
    assert removed.status_code == 303
    text = audit((await shop.get("/cart")).text).plain_text
    assert "Removed from your cart." in text and "Your cart is empty." in text
    assert "Cart (0)" in text
    assert cart.lines_of(visitor_owners(cart)[0]) == {}


async def test_cart_refusals_are_flashed(shop: httpx.AsyncClient, catalog, audit):
    await add(shop, audit, quantity="9")
    response = await add(shop, audit, quantity="2")
    assert response.status_code == 303
    text = audit((await shop.get(PRODUCT)).text).plain_text
    assert "A cart holds 1 to 10 of each product." in text

    catalog.products = [p for p in catalog.products if p["id"] != "chef-knife"]
    await post_form(shop, audit, PRODUCT, "/cart/items", product_id="chef-knife", quantity="1")
    text = audit((await shop.get("/")).text).plain_text
    assert "That product isn't in the shop any more." in text


async def test_a_bad_quantity_never_reaches_cart(shop: httpx.AsyncClient, cart, audit):
    response = await add(shop, audit, quantity="11")

    assert response.status_code == 303
    assert "Choose a quantity from 1 to 10." in audit((await shop.get("/")).text).plain_text
    assert cart.owners_seen == []


async def test_a_post_without_csrf_is_refused(shop: httpx.AsyncClient, cart):
    await shop.get(PRODUCT)
    response = await shop.post("/cart/items", data={"product_id": "chef-knife"})

    assert response.status_code == 403
    assert cart.owners_seen == []


async def test_cart_down_is_a_flash_not_a_500(shop: httpx.AsyncClient, cart, audit):
    cart.fail_with = 500

    response = await add(shop, audit)
    assert response.status_code == 303
    assert "The cart is unavailable right now." in audit((await shop.get("/")).text).plain_text
    page = await shop.get("/cart")
    assert page.status_code == 503
    assert "The cart is unavailable right now." in audit(page.text).plain_text

    await cart.stop()
    assert (await add(shop, audit)).status_code == 303


async def test_sign_in_merges_the_visitor_cart(shop: httpx.AsyncClient, accounts, cart, audit):
    await sign_up(shop, audit, accounts)
    await post_form(shop, audit, "/", "/sign-out")
    await add(shop, audit, quantity="3")
    visitor = visitor_owners(cart)[-1].removeprefix("visitor:")

    response = await post_form(
        shop, audit, "/sign-in", "/sign-in", email="ada@example.com", password=PASSWORD
    )

    assert response.status_code == 303
    assert ("ada@example.com", visitor) in cart.merges
    assert cart.lines_of("user:ada@example.com") == {"ceramic-pour-over": 3}
    text = audit((await shop.get("/cart")).text).plain_text
    assert "Cart (3)" in text and "Ceramic Pour-Over" in text
    assert cart.owners_seen[-1] == "user:ada@example.com"  # signed in: the token, not the visitor


async def test_sign_up_merges_too(shop: httpx.AsyncClient, accounts, cart, audit):
    await add(shop, audit)

    await sign_up(shop, audit, accounts)

    assert [email for email, _ in cart.merges] == ["ada@example.com"]
    assert "Cart (1)" in audit((await shop.get("/")).text).plain_text


async def test_a_failed_merge_still_signs_in(shop: httpx.AsyncClient, accounts, cart, audit):
    cart.fail_with = 503

    response = await sign_up(shop, audit, accounts)

    assert response.status_code == 303
    text = audit((await shop.get("/account")).text).plain_text
    assert "Your account" in text
    assert "We couldn't bring over the cart" in text


async def test_accounts_down_at_token_refresh_is_a_flash(
    shop: httpx.AsyncClient, accounts, cart, audit
):
    accounts.access_seconds = 1  # inside the refresh margin: every cart call refreshes first
    await sign_up(shop, audit, accounts)
    token = (await shop.get(PRODUCT)).text
    await accounts.stop()

    fields = {"product_id": "chef-knife", "quantity": "1", "csrf_token": csrf_of(audit, token)}
    response = await shop.post("/cart/items", data=fields)

    assert response.status_code == 303
    assert "The cart is unavailable right now." in audit((await shop.get("/")).text).plain_text
