"""The shop's pages against a stand-in catalog over real HTTP."""

import re

import httpx
import pytest


async def test_home_lists_products_with_pictures_and_prices(shop: httpx.AsyncClient, audit):
    response = await shop.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = audit(response.text)
    assert page.heading == "Everyday things, made to last."
    assert "Ceramic Pour-Over" in page.plain_text
    assert "$24.00" in page.plain_text
    card = next(img for img in page.all("img") if "ceramic-pour-over" in str(img.get("src")))
    assert card["src"] == "/pictures/ceramic-pour-over.svg"
    assert card["alt"] == ""  # the card's link text names it: read once, not twice
    nav = [a["href"] for a in page.all("a") if a.get("class") == "category-nav__link"]
    assert nav == ["/category/coffee", "/category/kitchen", "/category/tea"]


async def test_home_shows_every_product_in_pages_of_24(shop: httpx.AsyncClient, audit):
    first = audit((await shop.get("/")).text)
    second = audit((await shop.get("/?page=2")).text)
    beyond = await shop.get("/?page=3")

    cards = [li for li in first.all("li") if li.get("class") == "product-card"]
    assert len(cards) == 24
    assert "Showing 1\N{EN DASH}24 of 30 products" in first.plain_text
    assert any(a.get("rel") == "next" and a["href"] == "/?page=2" for a in first.all("a"))
    assert "Showing 25\N{EN DASH}30 of 30 products" in second.plain_text
    assert beyond.status_code == 404


async def test_home_of_an_empty_shop_says_so(shop: httpx.AsyncClient, catalog, audit):
    catalog.products.clear()

    response = await shop.get("/")

    assert response.status_code == 200
    assert "The shelves are being stocked." in audit(response.text).plain_text


async def test_category_page_lists_its_products_in_pages(shop: httpx.AsyncClient, audit):
    first = audit((await shop.get("/category/coffee")).text)
    second_response = await shop.get("/category/coffee?page=2")
    second = audit(second_response.text)

    assert first.heading == "Coffee"
    assert "Showing 1\N{EN DASH}24 of 27 products" in first.plain_text
    assert len([li for li in first.all("li") if li.get("class") == "product-card"]) == 24
    assert any(
        a.get("rel") == "next" and a["href"] == "/category/coffee?page=2" for a in first.all("a")
    )
    current = {a["href"] for a in first.all("a") if a.get("aria-current") == "page"}
    assert current == {"/category/coffee"}  # the menu entry and page 1 of the pager
    assert second_response.status_code == 200
    assert "Showing 25\N{EN DASH}27 of 27 products" in second.plain_text
    assert any(a.get("rel") == "prev" and a["href"] == "/category/coffee" for a in second.all("a"))
    assert len([li for li in second.all("li") if li.get("class") == "product-card"]) == 3


async def test_product_page_shows_everything_about_the_product(shop: httpx.AsyncClient, audit):
    response = await shop.get("/product/ceramic-pour-over")

    assert response.status_code == 200
    page = audit(response.text)
    assert page.heading == "Ceramic Pour-Over"
    assert "$24.00" in page.plain_text
    assert "Hand-thrown stoneware dripper." in page.plain_text
    assert "Fits most mugs." in page.plain_text
    big = next(img for img in page.all("img") if img.get("class") == "product__picture")
    assert big["src"] == "/pictures/ceramic-pour-over.svg"
    assert big["alt"] == "Ceramic Pour-Over"
    crumbs = [a["href"] for a in page.all("a") if a["href"] in {"/", "/category/coffee"}]
    assert "/category/coffee" in crumbs
    tags = [a["href"] for a in page.all("a") if a.get("class") == "chip"]
    assert tags == ["/search?q=ceramic", "/search?q=brewing"]
    buy = next(f for f in page.all("form") if f.get("action") == "/cart/items")
    assert buy["method"] == "post"
    assert any(i.get("name") == "product_id" and i["value"] == "ceramic-pour-over"
               for i in page.all("input"))  # fmt: skip


async def test_text_from_catalog_is_escaped(shop: httpx.AsyncClient, audit):
    response = await shop.get("/product/tricky-mug")

    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text
    assert not [img for img in audit(response.text).all("img") if "onerror" in img]


async def test_search_finds_products(shop: httpx.AsyncClient, audit):
    response = await shop.get("/search", params={"q": "  pour-over  "})

    page = audit(response.text)
    assert response.status_code == 200
    assert page.heading == "Results for “pour-over”"
    assert "Ceramic Pour-Over" in page.plain_text
    assert page.all("input")[0]["value"] == "pour-over"


async def test_search_without_words_asks_for_some(shop: httpx.AsyncClient, catalog, audit):
    response = await shop.get("/search?q=")

    assert response.status_code == 200
    assert audit(response.text).heading == "Search"
    assert not [call for call in catalog.calls if call.startswith("/v1/search")]


async def test_search_without_results_says_so_and_offers_categories(shop: httpx.AsyncClient, audit):
    response = await shop.get("/search", params={"q": "unicorn"})

    page = audit(response.text)
    assert response.status_code == 200
    assert page.heading == "No results for “unicorn”"
    assert "/category/tea" in [a["href"] for a in page.all("a") if a.get("class") == "chip"]


async def test_search_pages_keep_the_query(shop: httpx.AsyncClient, audit):
    page = audit((await shop.get("/search", params={"q": "coffee beans"})).text)

    assert any(a["href"] == "/search?q=coffee+beans&page=2" for a in page.all("a"))


async def test_static_css_is_cache_busted_and_cached_for_long(shop: httpx.AsyncClient, audit):
    page = audit((await shop.get("/")).text)
    href = next(link["href"] for link in page.all("link") if link["rel"] == "stylesheet")

    assert re.fullmatch(r"/static/shop\.[0-9a-f]{12}\.css", href)
    css = await shop.get(href)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = await shop.get(href, headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    plain = await shop.get("/static/shop.css")
    assert plain.status_code == 200
    assert "immutable" not in plain.headers["cache-control"]


@pytest.mark.parametrize(
    "path", ["/static/%2E%2E/app.py", "/static/..%2Fapp.py", "/static/nothing.css"]
)
async def test_static_serves_only_its_own_files(shop: httpx.AsyncClient, path: str):
    assert (await shop.get(path)).status_code == 404


async def test_a_product_card_shows_a_change_in_catalog_at_once(
    shop: httpx.AsyncClient, catalog, audit
):
    def card(html: str) -> str:
        page = audit(html)
        return " ".join(page.plain_text.split("Coffee Beans No. 1 ", 1)[1].split()[:1])

    before = await shop.get("/category/coffee")
    beans = next(p for p in catalog.products if p["id"] == "coffee-beans-1")
    beans["price"] = {"amount": 1500, "currency": "USD"}
    repriced = await shop.get("/category/coffee")
    beans["name"] = "Coffee Beans No. 1, roasted"
    renamed = await shop.get("/category/coffee")

    assert card(before.text) == "$10.01"
    assert card(repriced.text) == "$15.00"  # cards are kept by every value they show
    assert "Coffee Beans No. 1, roasted" in audit(renamed.text).plain_text
