"""What the logs may hold: no secret from a path (the guest order link), and request ids the
shop chose itself, not ones a browser picked."""

import httpx
import pytest

from .test_cart import add
from .test_checkout import place


async def test_a_guest_order_link_never_reaches_the_logs(
    shop: httpx.AsyncClient, orders, audit, capsys: pytest.CaptureFixture[str]
):
    await add(shop, audit)
    placed = await place(shop, audit)
    link = placed.headers["location"]
    token = link.removeprefix("/orders/status/")

    seen = await shop.get(link)
    missing = await shop.get(f"/orders/status/{token}x/more")

    assert seen.status_code == 200 and missing.status_code == 404
    logged = capsys.readouterr()
    assert "/orders/status/{token}" in logged.out  # the route's template is what is logged
    assert token not in logged.out + logged.err


async def test_a_browser_cannot_choose_the_request_id(shop: httpx.AsyncClient):
    response = await shop.get("/", headers={"x-request-id": "chosen-by-the-browser"})

    assert response.status_code == 200
    assert response.headers["x-request-id"] != "chosen-by-the-browser"
    assert len(response.headers["x-request-id"]) == 16
