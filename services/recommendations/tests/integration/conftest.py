"""recommendations driven in-process over HTTP with real service tokens, as the frontend
calls it, and calling a stand-in catalog: a tiny aiohttp server on a real socket that, like
catalog, refuses a call without a service token meant for it, and whose answers are checked
against catalog's contract after each test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from chassis.stand_ins import Contract, StandIn, problem
from chassis.testing import ServiceKeys, in_process_client, in_process_env
from chassis.testing.plugin import TestedService, service_fixtures
from chassis.tokens import TokenRejected, TokenVerifier, TrustStore
from mosaic.ports import free_port
from recommendations.app import create_recommendations_app
from recommendations.reads import READS
from recommendations.settings import RecommendationsSettings

CATALOG_CONTRACT = Path(__file__).resolve().parents[3] / "catalog" / "openapi.json"
SLOW = "slow-product"  # the stand-in takes longer than any deadline to answer for it
BROKEN = "broken-product"  # the stand-in answers 500 for it


def _product(product_id: str, category: str, *tags: str) -> dict[str, Any]:
    return {
        "id": product_id,
        "name": product_id.replace("-", " ").title(),
        "description": "",
        "category": category,
        "price": {"amount": 1200, "currency": "USD"},
        "picture": f"/v1/pictures/{product_id}.svg",
        "tags": list(tags),
    }


# In catalog's order: by name, then id.
PRODUCTS = [
    _product("apron", "kitchen", "cotton"),
    _product(BROKEN, "kitchen"),
    _product("brass-compass", "outdoors", "brass"),
    _product("ceramic-pour-over", "kitchen", "coffee", "ceramic"),
    _product("kettle", "kitchen", "coffee", "tea"),
    _product("mug", "kitchen", "coffee", "ceramic"),
    _product("notebook", "stationery", "paper"),
    _product(SLOW, "kitchen"),
    _product("tent", "outdoors", "camping"),
    _product("wool-socks", "clothing", "wool"),
]
BY_ID = {p["id"]: p for p in PRODUCTS if p["id"] not in (SLOW, BROKEN)}  # in catalog's order


def _tested() -> TestedService:
    """Keys: recommendations' own (it signs calls to catalog) and its callers'."""
    names = ("recommendations", "frontend", "stranger")
    return TestedService("recommendations", Path(__file__).resolve().parents[2], names)


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@dataclass
class StandInCatalog(StandIn):
    """What the stand-in saw: the verified caller of every call (None: refused). Its answers
    are checked against catalog's openapi.json after each test (`checked_catalog`)."""

    verifier: TokenVerifier
    callers: list[str | None] = field(default_factory=list)
    # Every call as (path, status), and catalog's cache generation, which a write replaces.
    calls: list[tuple[str, int]] = field(default_factory=list)
    generation: int = 1
    by_id: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(BY_ID))

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/assortment", self.assortment)
        app.router.add_get("/v1/products/{product_id}", self.product)
        return app

    def write(self, product: dict[str, Any]) -> None:
        """As a catalog write does: the product changes and so does the generation."""
        self.by_id[product["id"]] = product
        self.generation += 1

    def _caller(self, request: web.Request) -> str | None:
        # As catalog does: signed by a trusted key, meant for catalog, not expired.
        try:
            return self.verifier.verify(request.headers.get("x-service-token", "")).issuer
        except TokenRejected:
            return None

    async def product(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        self.callers.append(caller)
        if caller is None:
            return problem(401, "caller-unauthenticated", "no valid service token")
        product_id = request.match_info["product_id"]
        if product_id == SLOW:
            await asyncio.sleep(5)
        if product_id == BROKEN:
            return problem(500, "internal-error", "the stand-in fails on purpose")
        if product_id not in self.by_id:
            return problem(404, "product-not-found", f"no product {product_id}")
        return web.json_response(self.by_id[product_id])

    async def assortment(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        self.callers.append(caller)
        if caller is None:
            return problem(401, "caller-unauthenticated", "no valid service token")
        etag = f'"{self.generation}"'
        if request.headers.get("If-None-Match") == etag:
            self.calls.append((request.path, 304))
            return web.Response(status=304, headers={"ETag": etag})
        self.calls.append((request.path, 200))
        # In catalog's order; the misbehaving products are reached by id only, never held.
        ordered = sorted(self.by_id.values(), key=lambda p: (p["name"], p["id"]))
        items = [{k: v for k, v in p.items() if k != "description"} for p in ordered]
        return web.json_response({"items": items}, headers={"ETag": etag})


@pytest.fixture(scope="session")
async def catalog(keys: ServiceKeys) -> AsyncIterator[StandInCatalog]:
    stand_in = StandInCatalog(TokenVerifier("catalog", TrustStore(keys.trust_dir)))
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture(autouse=True)
def checked_catalog(catalog: StandInCatalog) -> Iterator[None]:
    """After each test: the stand-in serves only catalog's routes, answered as catalog's
    openapi.json says, and recommendations called only what its reads.py declares."""
    catalog.answered.clear()
    catalog.off_contract = False  # a test that wants an off-contract answer sets it
    yield
    found = Contract("catalog", json.loads(CATALOG_CONTRACT.read_text())).checked(catalog, READS)
    assert not found, "\n".join(found)


def settings_for(catalog_url: str, keys: ServiceKeys) -> RecommendationsSettings:
    env = in_process_env("recommendations", keys, CATALOG_URL=catalog_url)
    return RecommendationsSettings.model_validate(env)


@pytest.fixture(scope="session")
async def client(catalog: StandInCatalog, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and an HTTP client calling it as the frontend."""
    app = create_recommendations_app(settings_for(catalog.url, keys))
    async with in_process_client(app, keys, "frontend") as http:
        yield http


@pytest.fixture
async def client_without_catalog(keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    """A service whose CATALOG_URL points at a port nothing listens on."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    app = create_recommendations_app(settings_for(nowhere, keys))
    async with in_process_client(app, keys, "frontend") as http:
        yield http
