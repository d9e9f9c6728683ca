"""The stand-ins against their callees' committed contracts (services/<callee>/openapi.json).

Every answer a stand-in gives in any frontend test is checked when the test ends (conftest's
`serving`). Here: every route each stand-in serves is one its callee has, and the check
itself catches each kind of drift, naming the stand-in, the route and the field.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web
from chassis.stand_ins import StandIn

from services.frontend.tests.stand_ins import contract
from services.frontend.tests.stand_ins.accounts import FakeAccounts
from services.frontend.tests.stand_ins.cart import FakeCart
from services.frontend.tests.stand_ins.catalog import FakeCatalog
from services.frontend.tests.stand_ins.currency import FakeCurrency
from services.frontend.tests.stand_ins.orders import FakeOrders
from services.frontend.tests.stand_ins.recommendations import FakeRecommendations
from services.frontend.tests.stand_ins.shipping import FakeShipping


def _cart() -> FakeCart:
    return FakeCart(FakeCatalog(), FakeAccounts())


STAND_INS: dict[str, Callable[[], StandIn]] = {
    "accounts": FakeAccounts,
    "cart": _cart,
    "catalog": FakeCatalog,
    "currency": FakeCurrency,
    "orders": lambda: FakeOrders(_cart(), FakeAccounts()),
    "recommendations": lambda: FakeRecommendations(FakeCatalog()),
    "shipping": FakeShipping,
}


@pytest.mark.parametrize("callee", sorted(STAND_INS))
def test_every_route_a_stand_in_serves_is_one_its_callee_has(callee: str) -> None:
    stand_in = STAND_INS[callee]()
    assert stand_in.routes(), f"stand-in {callee} serves nothing"
    assert contract(callee).unknown_routes(stand_in) == []


@pytest.fixture
async def started_catalog() -> AsyncIterator[FakeCatalog]:
    fake = FakeCatalog()
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_field_the_contract_lacks_is_drift(started_catalog: FakeCatalog) -> None:
    started_catalog.products[0]["colour"] = "teal"
    await _get(started_catalog, "/v1/products/ceramic-pour-over")

    (found,) = contract("catalog").drift(started_catalog)

    assert found.startswith("stand-in catalog: GET /v1/products/{pid} answered 200: field")
    assert "'colour' was unexpected" in found


async def test_a_missing_required_field_is_drift(started_catalog: FakeCatalog) -> None:
    del started_catalog.products[0]["name"]
    await _get(started_catalog, "/v1/products?page=1&page_size=24")

    (found,) = contract("catalog").drift(started_catalog)

    assert "GET /v1/products answered 200: field items.0: 'name' is a required property" in found


async def test_a_value_of_the_wrong_type_is_drift(started_catalog: FakeCatalog) -> None:
    started_catalog.products[0]["price"]["amount"] = 24.5
    await _get(started_catalog, "/v1/products/ceramic-pour-over")

    (found,) = contract("catalog").drift(started_catalog)

    assert "field price.amount: 24.5 is not of type 'integer'" in found


@dataclass
class CatalogWithBareProblems(FakeCatalog):
    """Says "no such product" with a problem that lacks the members every problem has."""

    async def _one(self, request: web.Request) -> web.Response:
        return web.json_response({"type": "about:blank"}, status=404)


async def test_a_problem_without_its_required_members_is_drift() -> None:
    fake = CatalogWithBareProblems()
    await fake.start()
    try:
        await _get(fake, "/v1/products/gone")
    finally:
        await fake.stop()

    assert contract("catalog").drift(fake) == [
        f"stand-in catalog: GET /v1/products/{{pid}} answered 404: field (body): '{member}' "
        "is a required property"
        for member in ("detail", "status", "title")
    ]


@dataclass
class CatalogWithBrands(FakeCatalog):
    """A stand-in that grew routes catalog does not have."""

    def application(self) -> web.Application:
        app = super().application()
        app.router.add_get("/v1/brands", self._brands)
        app.router.add_get("/v1/categories/{slug}", self._brands)
        return app

    async def _brands(self, _: web.Request) -> web.Response:
        return web.json_response({"items": []})


async def test_a_route_the_callee_does_not_have_is_drift() -> None:
    fake = CatalogWithBrands()
    assert contract("catalog").unknown_routes(fake) == [
        "stand-in catalog serves GET /v1/brands, which catalog's openapi.json does not have",
        "stand-in catalog serves GET /v1/categories/{slug}, "
        "which catalog's openapi.json does not have",
    ]
    await fake.start()
    try:
        await _get(fake, "/v1/brands")
    finally:
        await fake.stop()

    assert contract("catalog").drift(fake) == [
        "stand-in catalog: GET /v1/brands answered 200, a route catalog's openapi.json "
        "does not have"
    ]


async def test_a_status_the_contract_does_not_list_is_drift(started_catalog: FakeCatalog) -> None:
    started_catalog.fail_with = 418
    await _get(started_catalog, "/v1/categories")

    assert contract("catalog").drift(started_catalog) == [
        "stand-in catalog: GET /v1/categories answered 418, a status the contract does not "
        "list for it"
    ]


async def test_a_stand_in_off_its_contract_on_purpose_is_not_checked(
    started_catalog: FakeCatalog,
) -> None:
    started_catalog.products[0]["colour"] = "teal"
    started_catalog.off_contract = True
    await _get(started_catalog, "/v1/products/ceramic-pour-over")

    assert contract("catalog").drift(started_catalog) == []


async def _get(fake: StandIn, path: str) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as client:
        await client.get(path)
