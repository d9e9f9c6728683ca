""" "You may also like" on a product page: shown when recommendations answers, left out (the
page still 200) when it is down, errs or is slow, and never making the page slower."""

import asyncio

import httpx
import pytest

PRODUCT = "/product/ceramic-pour-over"


def block_of(audit, html: str) -> list[str]:
    """The product links inside the "You may also like" section, in order."""
    page = audit(html)
    inside, links = False, []
    for tag, attrs in page.tags:
        if tag == "section":
            inside = attrs.get("class") == "section recommendations"
        elif inside and tag == "a" and attrs.get("class") == "product-card__link":
            links.append(str(attrs["href"]))
    return links


async def test_the_block_shows_recommended_products(
    shop: httpx.AsyncClient, recommendations, audit
):
    response = await shop.get(PRODUCT)

    assert response.status_code == 200
    assert "You may also like" in audit(response.text).plain_text
    links = block_of(audit, response.text)
    assert len(links) == 4
    assert PRODUCT not in links
    assert links[0].startswith("/product/coffee-beans-")  # same category first
    assert "/pictures/coffee-beans-1.svg" in response.text
    assert "$10.01" in response.text  # coffee-beans-1's price
    assert recommendations.calls == [{"product_id": "ceramic-pour-over", "limit": "4"}]


async def test_recommended_prices_are_in_the_chosen_currency_in_the_same_batch(
    shop: httpx.AsyncClient, currency, audit
):
    from .test_accounts import post_form

    await post_form(shop, audit, "/", "/currency", currency="EUR", next="/")
    currency.conversions.clear()

    text = audit((await shop.get(PRODUCT)).text).plain_text

    assert "€22.32" in text  # the product: 2400 * 0.93
    assert "€9.30" in text  # coffee-beans-1: 1001 * 0.93
    assert len(currency.conversions) == 1
    assert len(currency.conversions[0]["items"]) == 5


async def test_recommendations_down_leaves_the_block_out(
    shop: httpx.AsyncClient, recommendations, audit, capsys: pytest.CaptureFixture[str]
):
    await recommendations.stop()  # connection refused

    capsys.readouterr()
    response = await shop.get(PRODUCT)

    assert response.status_code == 200
    assert audit(response.text).heading == "Ceramic Pour-Over"
    assert "You may also like" not in response.text
    assert_one_warning(capsys)


async def test_recommendations_failing_leaves_the_block_out(
    shop: httpx.AsyncClient, recommendations, audit, capsys: pytest.CaptureFixture[str]
):
    recommendations.fail_with = 500

    capsys.readouterr()
    response = await shop.get(PRODUCT)

    assert response.status_code == 200
    assert "You may also like" not in response.text
    assert "Add to cart" in response.text
    assert_one_warning(capsys)


async def test_an_off_contract_answer_leaves_the_block_out(
    shop: httpx.AsyncClient, catalog, recommendations, audit
):
    catalog.products[4]["price"]["amount"] = 10.01  # coffee-beans-1, with a float price
    recommendations.off_contract = True  # on purpose: its answer breaks the contract

    response = await shop.get(PRODUCT)

    assert response.status_code == 200
    assert "You may also like" not in response.text


async def test_slow_recommendations_do_not_hold_the_page(
    shop: httpx.AsyncClient, recommendations, audit, capsys: pytest.CaptureFixture[str]
):
    recommendations.delay = 3.0
    loop_time = asyncio.get_running_loop().time

    capsys.readouterr()
    started = loop_time()
    response = await shop.get(PRODUCT)
    elapsed = loop_time() - started

    assert response.status_code == 200
    assert "You may also like" not in response.text
    assert elapsed < 1.5  # the 350 ms deadline, not the 3 s sleep nor the 2 s page budget
    assert_one_warning(capsys)


async def test_recommendations_are_asked_alongside_catalog(
    shop: httpx.AsyncClient, catalog, recommendations
):
    catalog.delay = 0.5

    started = asyncio.get_running_loop().time()
    response = await shop.get(PRODUCT)

    assert response.status_code == 200
    assert "You may also like" in response.text
    # Asked while catalog was still answering, not after it: no latency of its own.
    assert recommendations.arrivals[0] - started < 0.5


async def test_catalog_down_is_still_the_503_page(shop: httpx.AsyncClient, catalog):
    catalog.fail_with = 500

    response = await shop.get(PRODUCT)

    assert response.status_code == 503


def assert_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    logged = capsys.readouterr().out
    warnings = [line for line in logged.splitlines() if "recommendations left out" in line]
    assert len(warnings) == 1
    assert "warning" in warnings[0]
    assert "Traceback" not in logged
