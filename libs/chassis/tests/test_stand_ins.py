"""chassis.stand_ins: a stand-in serves its routes on loopback, records what it answered, and
`Contract` finds every way those answers differ from an openapi.json, one line each."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from chassis.consumers import Call, Reads
from chassis.stand_ins import Contract, StandIn, problem

# A contract of the shape FastAPI writes: components, and a problem schema with its own $defs.
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/v1/parcels/{parcel_id}": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Parcel"}}
                        }
                    },
                    "404": {
                        "content": {
                            "application/problem+json": {
                                "schema": {
                                    "$defs": {
                                        "FieldError": {
                                            "properties": {"location": {"type": "string"}},
                                            "required": ["location"],
                                            "type": "object",
                                        }
                                    },
                                    "properties": {
                                        "type": {"type": "string"},
                                        "title": {"type": "string"},
                                        "status": {"type": "integer"},
                                        "detail": {"type": "string"},
                                        "errors": {
                                            "items": {"$ref": "#/$defs/FieldError"},
                                            "type": "array",
                                        },
                                    },
                                    "required": ["type", "title", "status", "detail"],
                                    "type": "object",
                                }
                            }
                        }
                    },
                }
            }
        }
    },
    "components": {
        "schemas": {
            "Parcel": {
                "properties": {"id": {"type": "string"}, "grams": {"type": "integer"}},
                "required": ["id", "grams"],
                "type": "object",
            }
        }
    },
}


@dataclass
class FakeParcels(StandIn):
    parcels: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"p1": {"id": "p1", "grams": 300}}
    )
    extra_route: bool = False

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/parcels/{pid}", self._one)
        if self.extra_route:
            app.router.add_post("/v1/parcels", self._one)
        return app

    async def _one(self, request: web.Request) -> web.Response:
        found = self.parcels.get(request.match_info.get("pid", ""))
        if found is None:
            return problem(404, "parcel-not-found", "No such parcel.", errors=[{"location": "x"}])
        return web.json_response(found)


@pytest.fixture
async def parcels() -> AsyncIterator[FakeParcels]:
    fake = FakeParcels()
    await fake.start()
    yield fake
    await fake.stop()


async def _get(fake: StandIn, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.url) as client:
        return await client.get(path)


async def test_answers_in_the_contract_are_no_drift(parcels: FakeParcels) -> None:
    assert (await _get(parcels, "/v1/parcels/p1")).json() == {"id": "p1", "grams": 300}
    assert (await _get(parcels, "/v1/parcels/nope")).status_code == 404

    assert [(a.method, a.route, a.status) for a in parcels.answered] == [
        ("GET", "/v1/parcels/{pid}", 200),
        ("GET", "/v1/parcels/{pid}", 404),
    ]
    assert Contract("parcels", DOCUMENT).drift(parcels) == []


async def test_each_kind_of_drift_names_the_stand_in_the_route_and_the_field(
    parcels: FakeParcels,
) -> None:
    parcels.parcels["p2"] = {"id": "p2", "grams": "heavy", "colour": "red"}
    parcels.parcels["p3"] = {"id": "p3"}
    for parcel in ("p2", "p3"):
        await _get(parcels, f"/v1/parcels/{parcel}")

    assert Contract("parcels", DOCUMENT).drift(parcels) == [
        "stand-in parcels: GET /v1/parcels/{pid} answered 200: field (body): 'grams' is a "
        "required property",
        "stand-in parcels: GET /v1/parcels/{pid} answered 200: field (body): Additional "
        "properties are not allowed ('colour' was unexpected)",
        "stand-in parcels: GET /v1/parcels/{pid} answered 200: field grams: 'heavy' is not of "
        "type 'integer'",
    ]


def test_a_route_the_callee_does_not_have_is_named() -> None:
    assert Contract("parcels", DOCUMENT).unknown_routes(FakeParcels(extra_route=True)) == [
        "stand-in parcels serves POST /v1/parcels, which parcels's openapi.json does not have"
    ]


async def test_checked_is_routes_drift_and_calls_the_caller_does_not_declare() -> None:
    fake = FakeParcels(extra_route=True)
    await fake.start()
    try:
        await _get(fake, "/v1/parcels/p1")
    finally:
        await fake.stop()
    declared = Reads("shop", calls=(Call("parcels", "GET", "/v1/parcels/{parcel_id}"),))
    assert Contract("parcels", DOCUMENT).checked(fake, declared) == [
        "stand-in parcels serves POST /v1/parcels, which parcels's openapi.json does not have"
    ]
    assert Contract("parcels", DOCUMENT).checked(fake, Reads("shop")) == [
        "stand-in parcels serves POST /v1/parcels, which parcels's openapi.json does not have",
        "shop calls parcels's GET /v1/parcels/{pid}, which shop's reads.py does not declare",
    ]
