"""Every page: no inline script or style (a strict CSP allows neither; the one script is our
vendored htmx file), and the landmarks, labels and alt text that keyboard and screen-reader
users rely on."""

import re

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
async def test_page_has_no_inline_script_and_no_inline_style(shop: httpx.AsyncClient, audit, path):
    html = (await shop.get(path)).text
    page = audit(html)

    scripts = page.all("script")
    assert [s["src"] for s in scripts] == [
        re.search(r"/static/vendor/htmx\.min\.\w+\.js", html)[0],
        re.search(r"/static/shop\.\w+\.js", html)[0],
    ]
    assert re.findall(r"<script[^>]*>(.*?)</script>", html, re.S) == ["", ""]
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
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
