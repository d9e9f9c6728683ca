"""Every page: no script or inline style (a strict CSP allows neither), and the landmarks,
labels and alt text that keyboard and screen-reader users rely on."""

import httpx
import pytest

PAGES = [
    "/",
    "/category/coffee",
    "/category/coffee?page=2",
    "/search?q=",
    "/search?q=coffee",
    "/search?q=unicorn",
    "/product/ceramic-pour-over",
    "/product/no-such-thing",
    "/category/coffee?page=abc",
]


@pytest.mark.parametrize("path", PAGES)
async def test_page_has_no_script_and_no_inline_style(shop: httpx.AsyncClient, audit, path):
    page = audit((await shop.get(path)).text)

    assert not page.all("script")
    assert not page.all("style")
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag


@pytest.mark.parametrize("path", PAGES)
async def test_page_is_accessible_in_structure(shop: httpx.AsyncClient, audit, path):
    page = audit((await shop.get(path)).text)

    assert page.all("html")[0]["lang"] == "en"
    assert page.all("a")[0] == {"class": "skip-link", "href": "#main"}
    assert [m["id"] for m in page.all("main")] == ["main"]
    assert page.all("header") and page.all("footer")
    assert len(page.all("h1")) == 1
    assert all(img.get("alt") is not None for img in page.all("img"))
    labelled = {label["for"] for label in page.all("label")}
    fields = [f for f in page.all("input") + page.all("select") if f.get("type") != "hidden"]
    assert all(field["id"] in labelled for field in fields)


async def test_pages_carry_a_strict_content_security_policy(shop: httpx.AsyncClient):
    response = await shop.get("/")

    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
