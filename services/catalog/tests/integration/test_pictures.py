"""Pictures: served from the package with a long cache life and revalidation by ETag."""

from __future__ import annotations

from typing import Any

import httpx


async def test_a_picture_is_svg_with_cache_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/pictures/ceramic-pour-over.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert response.headers["etag"].startswith('"')
    assert response.content.startswith(b"<svg")


async def test_head_answers_like_get(client: httpx.AsyncClient) -> None:
    head = await client.head("/v1/pictures/wool-socks.svg")
    get = await client.get("/v1/pictures/wool-socks.svg")
    assert head.status_code == 200
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == "image/svg+xml"


async def test_a_current_copy_gets_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/v1/pictures/gooseneck-kettle.svg")
    etag = first.headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await client.get(
            "/v1/pictures/gooseneck-kettle.svg", headers={"If-None-Match": header}
        )
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
    stale = await client.get(
        "/v1/pictures/gooseneck-kettle.svg", headers={"If-None-Match": '"stale"'}
    )
    assert stale.status_code == 200


async def test_each_picture_has_its_own_etag(client: httpx.AsyncClient) -> None:
    a = await client.get("/v1/pictures/stoneware-mug.svg")
    b = await client.get("/v1/pictures/enamel-camp-mug.svg")
    assert a.headers["etag"] != b.headers["etag"]


async def test_an_unknown_picture_is_a_404(client: httpx.AsyncClient, problem: Any) -> None:
    problem(await client.get("/v1/pictures/no-such-thing.svg"), 404, "product-not-found")
    assert (await client.get("/v1/pictures/_placeholder.svg")).status_code == 422


async def test_a_new_product_without_a_drawing_gets_the_placeholder(
    client: httpx.AsyncClient,
) -> None:
    draft = {
        "name": "Mystery Box",
        "description": "Something good, surely.",
        "category": "home",
        "price": {"amount": 100, "currency": "USD"},
    }
    await client.put("/v1/products/test-mystery-box", json=draft)
    response = await client.get("/v1/pictures/test-mystery-box.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert b"no picture yet" in response.content
