"""Pictures come through the shop, with catalog's caching headers."""

import httpx


async def test_picture_is_proxied_with_cache_headers(shop: httpx.AsyncClient):
    response = await shop.get("/pictures/ceramic-pour-over.svg")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=86400, immutable"
    assert response.headers["etag"]
    assert b"ceramic-pour-over" in response.content
    assert "sandbox" in response.headers["content-security-policy"]


async def test_picture_revalidation_passes_through(shop: httpx.AsyncClient, catalog):
    first = await shop.get("/pictures/ceramic-pour-over.svg")

    again = await shop.get(
        "/pictures/ceramic-pour-over.svg", headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert catalog.calls[-1] == "/v1/pictures/ceramic-pour-over.svg"


async def test_unknown_picture_is_a_404_placeholder(shop: httpx.AsyncClient, catalog):
    missing = await shop.get("/pictures/no-such-thing.svg")
    malformed = await shop.get("/pictures/..%2Fsecrets.svg")

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "image/svg+xml"
    assert malformed.status_code == 404
    assert not [c for c in catalog.calls if "secrets" in c]


async def test_picture_when_catalog_is_down_is_a_503_placeholder(shop: httpx.AsyncClient, catalog):
    await catalog.stop()

    response = await shop.get("/pictures/ceramic-pour-over.svg")

    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"
