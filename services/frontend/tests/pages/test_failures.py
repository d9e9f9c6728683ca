"""What a shopper sees when something is wrong: a page in the shop's layout, right status."""

import asyncio

import httpx
import pytest


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/product/no-such-thing", "We couldn't find that product"),
        ("/product/Not_An_Id", "We couldn't find that product"),
        ("/category/garden", "We couldn't find that category"),
        ("/category/coffee?page=9", "Page not found"),
        ("/nowhere", "Page not found"),
    ],
)
async def test_missing_things_get_a_404_page(shop: httpx.AsyncClient, audit, path, heading):
    response = await shop.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = audit(response.text)
    assert page.heading == heading
    assert any(a["href"] == "/" for a in page.all("a"))


@pytest.mark.parametrize("path", ["/product/no-such-thing", "/category/garden"])
async def test_not_found_pages_offer_the_category_menu(shop: httpx.AsyncClient, audit, path):
    page = audit((await shop.get(path)).text)

    assert "/category/tea" in [a["href"] for a in page.all("a")]


async def test_not_found_page_renders_even_if_the_menu_fails(
    shop: httpx.AsyncClient, catalog, audit
):
    catalog.fail_with = 500

    response = await shop.get("/product/Not_An_Id")  # never asked of catalog; the menu is

    assert response.status_code == 404
    assert "/category/tea" not in response.text
    assert catalog.calls == ["/v1/categories"]


@pytest.mark.parametrize(
    "path",
    [
        "/category/coffee?page=abc",
        "/category/coffee?page=0",
        "/search?q=tea&page=-1",
        "/search?q=" + "x" * 101,
    ],
)
async def test_bad_parameters_get_a_400_page(shop: httpx.AsyncClient, audit, path):
    response = await shop.get(path)

    assert response.status_code == 400
    assert audit(response.text).heading == "That link doesn't look right"
    assert "Traceback" not in response.text


async def test_catalog_down_gets_a_503_page(shop: httpx.AsyncClient, catalog, audit):
    await catalog.stop()

    response = await shop.get("/product/ceramic-pour-over")

    assert response.status_code == 503
    assert response.headers["retry-after"]
    page = audit(response.text)
    assert page.heading == "The shop is taking a short break"
    assert any(a["href"] == "/product/ceramic-pour-over" for a in page.all("a"))  # try again


async def test_catalog_errors_get_a_503_page(shop: httpx.AsyncClient, catalog, audit):
    catalog.fail_with = 500

    response = await shop.get("/")

    assert response.status_code == 503
    assert audit(response.text).heading == "The shop is taking a short break"


async def test_catalog_breaking_the_contract_gets_a_503_page(shop: httpx.AsyncClient, catalog):
    catalog.products[0]["price"]["amount"] = 24.0  # a float price: not something to show

    response = await shop.get("/product/ceramic-pour-over")

    assert response.status_code == 503


@pytest.mark.parametrize("budget_ms", [300])
async def test_slow_catalog_gets_a_503_page_within_the_deadline(
    shop: httpx.AsyncClient, catalog, audit, budget_ms
):
    catalog.delay = 3.0
    loop_time = asyncio.get_running_loop().time

    started = loop_time()
    response = await shop.get("/")
    elapsed = loop_time() - started

    assert response.status_code == 503
    assert audit(response.text).heading == "The shop is taking a short break"
    assert elapsed < 1.5


async def test_error_pages_are_not_cached(shop: httpx.AsyncClient):
    response = await shop.get("/product/no-such-thing")

    assert response.headers["cache-control"] == "no-store"
