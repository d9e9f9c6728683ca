"""A stand-in shipping: quotes in USD by item count, for a few zones."""

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from chassis.stand_ins import StandIn, problem

# Shipping's zones as the stand-in knows them: country -> postal code pattern.
ZONES = {"DE": r"\d{5}", "FR": r"\d{5}", "US": r"\d{5}", "GB": r"[A-Z0-9 ]{5,8}"}


@dataclass
class FakeShipping(StandIn):
    """shipping's quotes (POST /v1/quotes) in USD: standard and express, by item count.

    "AQ" (and any country outside ZONES) is not served, nor a postal code out of format.
    """

    fail_with: int | None = None
    quotes: list[dict[str, Any]] = field(default_factory=list)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/quotes", self._quote)
        return app

    @staticmethod
    def not_served(destination: dict[str, Any]) -> str | None:
        """The field shipping would name for an unserved destination, else None."""
        pattern = ZONES.get(destination.get("country", ""))
        if pattern is None:
            return "destination.country"
        if not re.fullmatch(pattern, destination.get("postal_code") or ""):
            return "destination.postal_code"
        return None

    @staticmethod
    def options(units: int) -> list[dict[str, Any]]:
        return [
            {"id": "standard", "name": "Standard", "days": {"min": 3, "max": 5},
             "price": {"amount": 499 + 100 * (units - 1), "currency": "USD"}},
            {"id": "express", "name": "Express", "days": {"min": 1, "max": 2},
             "price": {"amount": 1499 + 100 * (units - 1), "currency": "USD"}},
        ]  # fmt: skip

    async def _quote(self, request: web.Request) -> web.Response:
        if not request.headers.get("x-service-token"):
            return problem(401, "service-token-missing", "no service token")
        if self.fail_with is not None:
            return problem(self.fail_with, "internal", "simulated failure")
        body = await request.json()
        self.quotes.append(body)
        where = self.not_served(body["destination"])
        if where is not None:
            detail = (
                "We don't deliver to this address."
                if where.endswith("country")
                else ("This postal code doesn't match the country.")
            )
            return problem(422, "destination-not-served", detail, field=where)
        units = sum(item["quantity"] for item in body["items"])
        return web.json_response({"zone": "europe", "options": self.options(units)})
