"""A stand-in currency: converts at fixed rates, from any currency it knows."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from chassis.stand_ins import problem

from services.orders.tests.stand_ins.callee import Callee

RATES = {"USD": 1.0, "EUR": 0.9}


@dataclass
class FakeCurrency(Callee):
    def application(self) -> web.Application:
        app = self.guarded()
        app.router.add_post("/v1/convert", self._convert)
        return app

    async def _convert(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["to"] not in RATES:
            return problem(422, "invalid-request", f"No rate for {body['to']}.")
        items = [
            {
                "original": item,
                "converted": {
                    "amount": round(item["amount"] * RATES[body["to"]]),
                    "currency": body["to"],
                },
            }
            for item in body["items"]
        ]
        return web.json_response({"items": items, "rates_date": "2024-06-28"})
