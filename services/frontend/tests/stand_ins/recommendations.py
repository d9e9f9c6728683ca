"""A stand-in recommendations: "You may also like" from the stand-in catalog's products."""

import asyncio
from dataclasses import dataclass, field

from aiohttp import web
from chassis.stand_ins import StandIn, problem

from services.frontend.tests.stand_ins.catalog import FakeCatalog


@dataclass
class FakeRecommendations(StandIn):
    """recommendations' /v1 contract: the first products of the same category as the one asked
    about, then others; `delay` and `fail_with` simulate trouble, `calls` records queries."""

    catalog: FakeCatalog
    delay: float = 0.0
    fail_with: int | None = None
    calls: list[dict[str, str]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # event-loop time of each call
    cancel_abandoned = True  # "slow recommendations" tests

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/recommendations", self._recommendations)
        return app

    async def _recommendations(self, request: web.Request) -> web.Response:
        self.calls.append(dict(request.query))
        self.arrivals.append(asyncio.get_running_loop().time())
        if not request.headers.get("x-service-token"):
            return problem(401, "service-token-missing", "no service token")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            return problem(self.fail_with, "internal", "simulated failure")
        pid, limit = request.query["product_id"], int(request.query.get("limit", "4"))
        known = {p["id"]: p for p in self.catalog.products}
        if pid not in known:
            return problem(404, "product-not-found", f"no product {pid}")
        others = [p for p in self.catalog.products if p["id"] != pid]
        others.sort(key=lambda p: p["category"] != known[pid]["category"])
        keys = ("id", "name", "category", "price", "picture")
        items = [{**{k: p[k] for k in keys}, "reason": "same-category"} for p in others[:limit]]
        return web.json_response({"items": items})
