"""orders' stand-ins against their callees' committed contracts (services/<callee>/openapi.json).

Every answer a stand-in gives in any integration test is checked when the test ends
(integration/conftest.py's `clean`). Here: every route each stand-in serves is one its
callee has, and a stand-in whose answer is edited off the contract is caught, by route and
field.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web

from services.orders.tests.stand_ins import StandIns, contract
from services.orders.tests.stand_ins.catalog import FakeCatalog

CALLEES = sorted(StandIns().each())


@pytest.mark.parametrize("callee", CALLEES)
def test_every_route_a_stand_in_serves_is_one_its_callee_has(callee: str) -> None:
    stand_in = StandIns().each()[callee]
    assert stand_in.routes(), f"stand-in {callee} serves nothing"
    assert contract(callee).unknown_routes(stand_in) == []


@dataclass
class CatalogWithoutTags(FakeCatalog):
    """A product answered without its `tags`, and with a `colour` catalog does not have."""

    async def _product(self, request: web.Request) -> web.Response:
        answer = await super()._product(request)
        body = json.loads(answer.text or "{}")
        del body["tags"]
        return web.json_response({**body, "colour": "teal"})


@pytest.fixture
async def edited_catalog() -> AsyncIterator[CatalogWithoutTags]:
    fake = CatalogWithoutTags()
    await fake.start()
    yield fake
    await fake.stop()


async def test_an_answer_edited_off_the_contract_is_drift(
    edited_catalog: CatalogWithoutTags,
) -> None:
    async with httpx.AsyncClient(base_url=edited_catalog.url) as client:
        answered = await client.get("/v1/products/wool-socks", headers={"x-service-token": "t"})
    assert answered.status_code == 200

    found = contract("catalog").drift(edited_catalog)

    where = "stand-in catalog: GET /v1/products/{product_id} answered 200: field (body): "
    assert found == [
        where + "'tags' is a required property",
        where + "Additional properties are not allowed ('colour' was unexpected)",
    ]


async def test_a_changed_answer_is_off_the_contract_on_purpose_so_not_checked() -> None:
    stand_ins = StandIns()
    await stand_ins.start()
    try:
        stand_ins.changed[("GET", "/v1/products/wool-socks")] = (200, {"id": "wool-socks"})
        async with httpx.AsyncClient(base_url=stand_ins.catalog.url) as client:
            await client.get("/v1/products/wool-socks", headers={"x-service-token": "t"})
        assert stand_ins.drift() == []
        stand_ins.reset()  # the next test's answers are checked again
        assert not stand_ins.catalog.off_contract
    finally:
        await stand_ins.stop()
