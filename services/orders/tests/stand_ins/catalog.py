"""A stand-in catalog: two products, priced in USD."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from chassis.stand_ins import problem

from services.orders.tests.stand_ins.callee import Callee

PRICES = {"wool-socks": 1200, "brass-compass": 4500}  # USD cents


@dataclass
class FakeCatalog(Callee):
    def application(self) -> web.Application:
        app = self.guarded()
        app.router.add_get("/v1/products/{product_id}", self._product)
        return app

    async def _product(self, request: web.Request) -> web.Response:
        product_id = request.match_info["product_id"]
        if product_id not in PRICES:
            return problem(404, "product-not-found", f"No product {product_id}.")
        product = {
            "id": product_id,
            "name": product_id.replace("-", " ").title(),
            "description": f"A {product_id.replace('-', ' ')}.",
            "category": "outdoors",
            "price": {"amount": PRICES[product_id], "currency": "USD"},
            "picture": f"/static/img/products/{product_id}.jpg",
            "tags": [],
        }
        return web.json_response(product)
