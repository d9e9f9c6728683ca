"""GET /v1/currencies: what prices can be shown in, from which day's rates."""

from __future__ import annotations

import httpx


async def test_the_list_names_each_currency_with_its_minor_unit_and_rate(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/currencies")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    items = {item["code"]: item for item in response.json()["items"]}
    assert items["USD"] == {"code": "USD", "name": "US Dollar", "exponent": 2, "per_euro": "1.0705"}
    assert items["JPY"] == {"code": "JPY", "name": "Yen", "exponent": 0, "per_euro": "171.94"}
    assert items["EUR"] == {"code": "EUR", "name": "Euro", "exponent": 2, "per_euro": "1"}
    # As published, trailing zero and all: the ECB quotes the forint to two places.
    assert items["HUF"]["per_euro"] == "395.10"


async def test_the_list_is_by_code_and_offers_every_current_currency_rated(
    client: httpx.AsyncClient,
) -> None:
    codes = [item["code"] for item in (await client.get("/v1/currencies")).json()["items"]]

    assert codes == sorted(codes)
    assert len(codes) == 30  # the ECB's 30 rates, less the withdrawn lev, plus the euro
    assert "BGN" not in codes


async def test_the_list_says_which_day_and_whose_rates(client: httpx.AsyncClient) -> None:
    rates = (await client.get("/v1/currencies")).json()["rates"]

    assert rates["date"] == "2024-06-28"
    assert rates["publisher"] == "European Central Bank"
    assert rates["title"] == "Euro foreign exchange reference rates"
    assert rates["url"].startswith("https://www.ecb.europa.eu/")
    assert rates["base"] == "EUR"
