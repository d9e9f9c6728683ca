"""Prices in the shopper's currency: chosen with a form, converted in one batch per page."""

import httpx

from .test_sessions import csrf_of


async def choose(shop: httpx.AsyncClient, audit, code: str, back_to: str = "/") -> httpx.Response:
    token = csrf_of(audit, (await shop.get(back_to)).text)
    return await shop.post(
        "/currency", data={"csrf_token": token, "currency": code, "next": back_to}
    )


async def test_every_page_offers_the_currencies(shop: httpx.AsyncClient, audit):
    page = audit((await shop.get("/product/ceramic-pour-over")).text)

    form = next(f for f in page.all("form") if f.get("action") == "/currency")
    assert form["method"] == "post"
    options = [o["value"] for o in page.all("option")]
    assert options == ["EUR", "GBP", "JPY", "USD"]


async def test_choosing_a_currency_converts_prices_in_one_call(
    shop: httpx.AsyncClient, currency, audit
):
    chosen = await choose(shop, audit, "JPY", back_to="/category/coffee")
    currency.conversions.clear()

    page = audit((await shop.get("/category/coffee")).text)

    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/category/coffee"
    assert "¥3,864" in page.plain_text  # $24.00 at 161 yen to the dollar, no minor unit
    assert "$24.00" not in page.plain_text
    assert len(currency.conversions) == 1  # the whole page in one batch
    assert len(currency.conversions[0]["items"]) == 24
    assert all(currency.idempotency_keys)  # so the chassis may retry it


async def test_product_page_shows_the_chosen_currency(shop: httpx.AsyncClient, audit):
    await choose(shop, audit, "EUR")

    page = audit((await shop.get("/product/ceramic-pour-over")).text)

    assert "€22.32" in page.plain_text


async def test_currency_down_shows_dollar_prices_not_an_error(
    shop: httpx.AsyncClient, currency, audit
):
    await choose(shop, audit, "EUR")
    await currency.stop()

    response = await shop.get("/")

    assert response.status_code == 200
    page = audit(response.text)
    assert "$24.00" in page.plain_text
    assert "Prices are shown in US dollars" in page.plain_text


async def test_an_unknown_currency_is_refused_with_a_message(shop: httpx.AsyncClient, audit):
    response = await choose(shop, audit, "XXX")
    page = audit((await shop.get(response.headers["location"])).text)

    assert "That currency isn't one we can show prices in." in page.plain_text
    assert "$24.00" in page.plain_text


async def test_the_way_back_stays_on_the_shop(shop: httpx.AsyncClient, audit):
    token = csrf_of(audit, (await shop.get("/")).text)

    response = await shop.post(
        "/currency", data={"csrf_token": token, "currency": "GBP", "next": "//evil.example/"}
    )

    assert response.headers["location"] == "/"
