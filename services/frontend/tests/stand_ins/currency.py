"""A stand-in currency: its /v1 contract with four made-up rates against the dollar."""

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from chassis.stand_ins import StandIn, problem

# Units of each currency per US dollar, in minor units per cent where it matters.
RATES = {"USD": (1, 1), "EUR": (93, 100), "JPY": (161, 1), "GBP": (79, 100)}
EXPONENTS = {"USD": 2, "EUR": 2, "JPY": 0, "GBP": 2}


@dataclass
class FakeCurrency(StandIn):
    """Currency's /v1 contract with four made-up rates against the dollar."""

    fail_with: int | None = None
    conversions: list[dict[str, Any]] = field(default_factory=list)
    idempotency_keys: list[str | None] = field(default_factory=list)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/currencies", self._currencies)
        app.router.add_post("/v1/convert", self._convert)
        return app

    async def _currencies(self, _: web.Request) -> web.Response:
        if self.fail_with is not None:
            return problem(self.fail_with, "internal", "simulated failure")
        items = [
            {"code": c, "name": c, "exponent": e, "per_euro": "1"} for c, e in EXPONENTS.items()
        ]
        rates = {
            "date": "2024-06-28",
            "publisher": "European Central Bank",
            "base": "EUR",
            "title": "Euro foreign exchange reference rates",
            "url": "https://www.ecb.europa.eu/",
        }
        return web.json_response({"items": items, "rates": rates})

    async def _convert(self, request: web.Request) -> web.Response:
        if self.fail_with is not None:
            return problem(self.fail_with, "internal", "simulated failure")
        body = await request.json()
        self.conversions.append(body)
        self.idempotency_keys.append(request.headers.get("Idempotency-Key"))
        to = body["to"]
        if to not in RATES:
            return problem(422, "unsupported-currency", f"no {to}")
        numerator, denominator = RATES[to]
        items = []
        for item in body["items"]:
            assert item["currency"] == "USD"
            amount = item["amount"] * numerator * 10 ** EXPONENTS[to] // (denominator * 100)
            items.append({"original": item, "converted": {"amount": amount, "currency": to}})
        return web.json_response({"items": items, "rates_date": "2024-06-28"})
