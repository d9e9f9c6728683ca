"""A stand-in shipping: quotes two options in USD (not to Antarctica), creates shipments by
idempotency key (refusing one postal code it quotes), finds and cancels them."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from chassis.stand_ins import problem

from services.orders.tests.stand_ins.callee import Callee

REFUSED_POSTAL_CODE = "99999"  # quoted, but its shipment refused

OPTIONS = [
    {"id": "standard", "name": "Standard", "price": {"amount": 500, "currency": "USD"},
     "days": {"min": 3, "max": 5}},
    {"id": "express", "name": "Express", "price": {"amount": 1500, "currency": "USD"},
     "days": {"min": 1, "max": 2}},
]  # fmt: skip


@dataclass
class FakeShipping(Callee):
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> shipment

    def application(self) -> web.Application:
        app = self.guarded()
        app.router.add_post("/v1/quotes", self._quote)
        app.router.add_post("/v1/shipments", self._ship)
        app.router.add_get("/v1/shipments", self._by_reference)
        app.router.add_post("/v1/shipments/{shipment_id}/cancel", self._cancel)
        return app

    def reset(self) -> None:
        super().reset()
        self.shipments.clear()

    def active(self, order_id: str) -> int:
        """How many of the order's shipments stand (created, not cancelled)."""
        return sum(
            1
            for s in self.shipments.values()
            if s["reference"] == f"order:{order_id}" and s["status"] == "created"
        )

    async def _quote(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["destination"]["country"] == "AQ":
            return problem(
                422,
                "destination-not-served",
                "Mosaic does not deliver to Antarctica.",
                field="destination.country",
            )
        return web.json_response({"zone": "europe", "options": OPTIONS})

    async def _ship(self, request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        body = await request.json()
        if body["address"].get("postal_code") == REFUSED_POSTAL_CODE:
            return problem(
                422,
                "destination-not-served",
                "We no longer deliver to this postal code.",
                field="address.postal_code",
            )
        if key not in self.shipments:
            option = next(o for o in OPTIONS if o["id"] == body["option"])
            self.shipments[key] = {
                "id": str(uuid.uuid4()),
                "tracking_id": "MOS" + base64.b32encode(secrets.token_bytes(8)).decode()[:12],
                "status": "created",
                "reference": body["reference"],
                "option": option["id"],
                "price": option["price"],
                "days": option["days"],
                "address": {"line2": None, **body["address"]},
                "items": body["items"],
                "created_at": datetime.now(UTC).isoformat(),
                "cancelled_at": None,
            }
        return web.json_response(self.shipments[key], status=201)

    async def _by_reference(self, request: web.Request) -> web.Response:
        reference = request.query["reference"]
        found = [s for s in self.shipments.values() if s["reference"] == reference]
        return web.json_response({"items": found})

    async def _cancel(self, request: web.Request) -> web.Response:
        for shipment in self.shipments.values():
            if shipment["id"] == request.match_info["shipment_id"]:
                shipment["status"] = "cancelled"
                shipment["cancelled_at"] = shipment["cancelled_at"] or datetime.now(UTC).isoformat()
                return web.json_response(shipment)
        return problem(404, "shipment-not-found", "No such shipment.")
