"""The layout every page shares: the category bar, one set of fine print, the currency form
(its "Set" button only without JavaScript) and, with converted prices, whose rates of which
day they use."""

import re

import httpx
import pytest
from fastapi import FastAPI
from frontend.clients.catalog import CATEGORIES_FRESH_SECONDS, CatalogClient

from .test_accounts import sign_up
from .test_cart import add
from .test_checkout import checkout_form, place
from .test_currency import choose

CATEGORY_BAR = ["/category/coffee", "/category/kitchen", "/category/tea"]


def category_bar(audit, html: str) -> list[str | None]:
    return [a["href"] for a in audit(html).all("a") if a.get("class") == "category-nav__link"]


@pytest.mark.parametrize("path", ["/sign-up", "/sign-in", "/cart", "/nowhere"])
async def test_every_page_has_the_category_bar(shop: httpx.AsyncClient, audit, path):
    response = await shop.get(path)

    assert category_bar(audit, response.text) == CATEGORY_BAR


async def test_checkout_and_the_order_page_have_the_category_bar(shop: httpx.AsyncClient, audit):
    await add(shop, audit)
    form, _ = await checkout_form(shop, audit)
    placed = await place(shop, audit)
    order = await shop.get(placed.headers["location"])

    assert category_bar(audit, form.text) == CATEGORY_BAR
    assert order.status_code == 200
    assert category_bar(audit, order.text) == CATEGORY_BAR


async def test_the_account_pages_have_the_category_bar(shop: httpx.AsyncClient, accounts, audit):
    await sign_up(shop, audit, accounts)

    for path in ("/account", "/account/orders"):
        assert category_bar(audit, (await shop.get(path)).text) == CATEGORY_BAR, path


async def test_the_bar_is_kept_per_process_not_asked_for_each_page(
    shop: httpx.AsyncClient, catalog, audit
):
    for _ in range(3):
        await shop.get("/sign-in")

    assert catalog.calls.count("/v1/categories") == 1


async def test_categories_are_asked_once_per_bound_and_a_change_shows_after_it(
    app: FastAPI, shop: httpx.AsyncClient, catalog, audit
):
    client = app.state.resources.get(CatalogClient)
    now = [1000.0]
    client.clock = lambda: now[0]

    def coffee_count(html: str) -> str:
        tile = html.split('category-tile__link" href="/category/coffee">', 1)[1]
        return " ".join(audit(tile.split("</a>", 1)[0]).plain_text.split())

    first = await shop.get("/")
    catalog.products[:] = [p for p in catalog.products if p["id"] != "ceramic-pour-over"]
    for path in ("/product/chef-knife", "/category/tea", "/search?q=mug"):
        await shop.get(path)
    kept = await shop.get("/")
    now[0] += CATEGORIES_FRESH_SECONDS
    fresh = await shop.get("/")

    assert catalog.calls.count("/v1/categories") == 2
    assert coffee_count(first.text) == "Coffee 27 products"
    assert coffee_count(kept.text) == "Coffee 27 products"  # within the bound: the copy
    assert coffee_count(fresh.text) == "Coffee 26 products"  # the bound passed: catalog's


async def test_catalog_down_leaves_the_bar_out_not_the_page(
    shop: httpx.AsyncClient, catalog, audit
):
    catalog.fail_with = 503

    response = await shop.get("/sign-in")

    assert response.status_code == 200
    assert category_bar(audit, response.text) == []


async def test_the_fine_print_is_said_once(shop: httpx.AsyncClient, audit):
    text = audit((await shop.get("/product/ceramic-pour-over")).text).plain_text

    assert text.count("Free returns within 30 days.") == 1


async def test_product_cards_name_the_product_once(shop: httpx.AsyncClient, audit):
    page = audit((await shop.get("/category/coffee")).text)

    cards = [img for img in page.all("img") if img.get("class") == "product-card__picture"]
    assert cards and all(img["alt"] == "" for img in cards)
    # The product page's own picture is content, and keeps its name.
    product = audit((await shop.get("/product/ceramic-pour-over")).text)
    main = next(img for img in product.all("img") if img.get("class") == "product__picture")
    assert main["alt"] == "Ceramic Pour-Over"


async def test_the_set_button_is_for_pages_without_javascript(shop: httpx.AsyncClient, audit):
    html = (await shop.get("/")).text
    page = audit(html)

    form = next(f for f in page.all("form") if f.get("action") == "/currency")
    assert form["hx-trigger"] == "change, submit"  # with htmx the choice applies at once
    buttons = [b for b in page.all("button") if b.get("class") == "currency-form__submit"]
    assert len(buttons) == 1
    # Our own script file (the CSP allows no inline script) marks the page once htmx is in.
    script = re.search(r'src="(/static/shop\.\w+\.js)"', html)
    stylesheet = re.search(r'href="(/static/shop\.\w+\.css)"', html)
    assert script is not None and stylesheet is not None
    assert 'classList.add("htmx-enhanced")' in (await shop.get(script[1])).text
    css = (await shop.get(stylesheet[1])).text
    assert ".htmx-enhanced .currency-form__submit { display: none; }" in css


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


async def test_converted_prices_say_whose_rates_of_which_day(shop: httpx.AsyncClient, audit):
    dollars = audit((await shop.get("/")).text).plain_text
    await choose(shop, audit, "EUR")
    html = (await shop.get("/")).text
    page = audit(html)

    assert "Rates of" not in dollars
    assert "Rates of 28 June 2024 (ECB): prices in EUR are converted from US dollars." in words(
        html
    )
    assert {"datetime": "2024-06-28"} in page.all("time")
    assert {"title": "European Central Bank"} in page.all("abbr")


async def test_no_rates_are_named_when_prices_are_shown_unconverted(
    shop: httpx.AsyncClient, currency, audit
):
    await choose(shop, audit, "EUR")
    currency.fail_with = 503

    page = audit((await shop.get("/category/coffee")).text)

    assert "Prices are shown in US dollars" in page.plain_text
    assert "Rates of" not in page.plain_text
