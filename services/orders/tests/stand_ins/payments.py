"""A stand-in payments: charges by idempotency key (a declined card is a 402 with its
charge), refunds, charges by reference, the most one charge may take; it can be down, or
hold a charge in flight."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from chassis.stand_ins import problem

from services.orders.tests.stand_ins.callee import Callee
from services.orders.tests.stand_ins.currency import RATES

DECLINED_NUMBER = "4000000000000002"


@dataclass
class FakePayments(Callee):
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> charge
    charge_keys: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    refunds: dict[str, str] = field(default_factory=dict)  # key -> charge id
    down: int = 0  # answer 503 to this many charge calls
    limits: dict[str, int] = field(default_factory=dict)  # most one charge; else 99,999,999
    # Set: a new charge waits for `charge_gate` (after setting `charge_arrived`) before
    # payments records it: a charge in flight while the test does something else.
    charge_gate: asyncio.Event | None = None
    charge_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def application(self) -> web.Application:
        app = self.guarded()
        app.router.add_post("/v1/charges", self._charge)
        app.router.add_get("/v1/limits/{currency}", self._limit)
        app.router.add_get("/v1/charges", self._by_reference)
        app.router.add_post("/v1/charges/{charge_id}/refunds", self._refund)
        return app

    def reset(self) -> None:
        super().reset()
        for store in (self.charges, self.charge_keys, self.refunds, self.limits):
            store.clear()
        self.down = 0
        self.charge_gate = None
        self.charge_arrived = asyncio.Event()

    def charge_landed(self, order: dict[str, Any], charge_id: str) -> None:
        """payments took the order's charge, but its answer never reached orders."""
        self.charges[charge_id] = {
            "id": charge_id,
            "status": "succeeded",
            "amount": order["total"],
            "reference": f"order:{order['id']}",
            "failure": None,
            "card": {"brand": "visa", "last4": "4242"},
            "created_at": _now(),
        }

    def net(self, order_id: str) -> int:
        """What payments holds of the order's money: taken and not refunded."""
        return sum(
            c["amount"]["amount"]
            for c in self.charges.values()
            if c["reference"] == f"order:{order_id}"
            and c["status"] == "succeeded"
            and c["id"] not in self.refunds.values()
        )

    async def _limit(self, request: web.Request) -> web.Response:
        currency = request.match_info["currency"]
        if currency not in RATES:  # like payments for a code ISO 4217 does not list
            return problem(422, "invalid-request", f"No currency {currency}.")
        most = self.limits.get(currency, 99_999_999)
        return web.json_response(
            {
                "currency": currency,
                "max_amount": {"amount": most, "currency": currency},
                "shown": f"{currency} {most / 100:,.2f}",
                "source": "https://docs.stripe.com/currencies",
            }
        )

    async def _charge(self, request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        if key in self.charge_keys:
            status, stored = self.charge_keys[key]
            return web.json_response(stored, status=status)
        if self.down:
            self.down -= 1
            return problem(503, "unavailable", "payments is down (the test said so)")
        body = await request.json()
        if self.charge_gate is not None:
            self.charge_arrived.set()
            await self.charge_gate.wait()
        charge_id = str(uuid.uuid4())
        declined = body["card"]["number"].replace(" ", "") == DECLINED_NUMBER
        charge = {
            "id": charge_id,
            "status": "failed" if declined else "succeeded",
            "amount": body["amount"],
            "reference": body["reference"],
            "card": {"brand": "visa", "last4": body["card"]["number"].replace(" ", "")[-4:]},
            "created_at": _now(),
            "failure": {"code": "card_declined", "message": "Your card was declined."}
            if declined
            else None,
        }
        self.charges[charge_id] = charge
        if declined:
            answer: tuple[int, dict[str, Any]] = (
                402,
                {
                    "type": "https://mosaic.dev/problems/card-declined",
                    "title": "Card declined",
                    "status": 402,
                    "detail": "Your card was declined.",
                    "code": "card_declined",
                    "charge_id": charge_id,
                },
            )
        else:
            answer = (201, self._view(charge))
        self.charge_keys[key] = answer
        return web.json_response(answer[1], status=answer[0])

    def _view(self, charge: dict[str, Any]) -> dict[str, Any]:
        """The charge as payments answers it (`ChargeView`): refunded whole, or not at all."""
        amount = charge["amount"]
        refunds = [
            _refund(key, charge)
            for key, refunded in self.refunds.items()
            if refunded == charge["id"]
        ]
        taken = charge["status"] == "succeeded" and not refunds
        return {
            **charge,
            "description": None,
            "refunds": refunds,
            "refunded": {**amount, "amount": amount["amount"] if refunds else 0},
            "net": {**amount, "amount": amount["amount"] if taken else 0},
        }

    async def _by_reference(self, request: web.Request) -> web.Response:
        reference = request.query["reference"]
        found = [self._view(c) for c in self.charges.values() if c["reference"] == reference]
        return web.json_response({"charges": found})

    async def _refund(self, request: web.Request) -> web.Response:
        charge_id = request.match_info["charge_id"]
        if charge_id not in self.charges:
            return problem(404, "charge-not-found", f"No charge {charge_id}.")
        key = request.headers["Idempotency-Key"]
        self.refunds.setdefault(key, charge_id)
        return web.json_response(_refund(key, self.charges[charge_id]), status=201)


def _refund(key: str, charge: dict[str, Any]) -> dict[str, Any]:
    """A whole refund of the charge, as payments answers it (`RefundView`)."""
    return {
        "id": f"re-{key}",
        "charge_id": charge["id"],
        "status": "succeeded",
        "amount": charge["amount"],
        "reason": "order cancelled",
        "created_at": _now(),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()
