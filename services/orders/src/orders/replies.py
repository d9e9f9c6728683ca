"""The parts of the callees' answers orders reads, as models: a callee whose answer changed
shape (a renamed field, a string for a number) fails validation with the field named, and
`clients.py` turns that into `Unavailable` with the reason logged, never a KeyError.

Tolerant readers: fields orders does not read are ignored, so a callee may add some.
A refusal (problem+json) is read leniently, below: whatever it lacks, the shopper still
gets a reason and the form field it concerns.
"""

from __future__ import annotations

from typing import Any

from chassis import Response, problem_type
from pydantic import BaseModel, ConfigDict

from orders.domain import Failure, Money
from orders.ports import ChargeLimit, ChargeRecord, ShipmentRecord, ShippingOption


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Converted(_Reply):
    converted: Money


class Conversion(_Reply):
    """currency's `POST /v1/convert`: the items in the order they were sent."""

    items: list[Converted]

    def amounts(self) -> list[Money]:
        return [item.converted for item in self.items]


class Limit(_Reply):
    """payments' `GET /v1/limits/{currency}`."""

    max_amount: Money
    shown: str

    def limit(self) -> ChargeLimit:
        return ChargeLimit(self.max_amount, self.shown)


class _Net(_Reply):
    amount: int


class _ChargeFailure(_Reply):
    code: str
    message: str


class Charge(_Reply):
    """A charge as payments shows it (`POST /v1/charges`, `GET /v1/charges`)."""

    id: str
    status: str
    net: _Net
    failure: _ChargeFailure | None = None

    def record(self) -> ChargeRecord:
        succeeded = self.status == "succeeded"
        failure = None
        if not succeeded and self.failure:
            code = self.failure.code.replace("_", "-")
            failure = Failure(code, self.failure.message, 402, "card")
        return ChargeRecord(self.id, succeeded, self.net.amount, failure)


class Charges(_Reply):
    charges: list[Charge]


class _Days(_Reply):
    min: int
    max: int


class _Option(_Reply):
    id: str
    name: str
    price: Money
    days: _Days


class Quote(_Reply):
    """shipping's `POST /v1/quotes`."""

    options: list[_Option]

    def shipping_options(self) -> list[ShippingOption]:
        return [ShippingOption(o.id, o.name, o.price, o.days.min, o.days.max) for o in self.options]


class Shipment(_Reply):
    id: str
    tracking_id: str
    status: str

    def record(self) -> ShipmentRecord:
        return ShipmentRecord(self.id, self.tracking_id, self.status == "cancelled")


class Shipments(_Reply):
    items: list[Shipment]


def problem_of(response: Response) -> dict[str, Any]:
    """A refusal's problem+json body; {} for a body that is not one."""
    return response.json_object()


def first_error(problem: dict[str, Any], *, default_field: str) -> tuple[str, str]:
    errors = problem.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    field = first.get("field") or str(first.get("location", "")).removeprefix("body.")
    message = first.get("message") or problem.get("detail") or "This is not valid."
    return field or default_field, str(message)


def declined(problem: dict[str, Any]) -> Failure:
    reason = problem.get("detail") or "Your card was declined."
    return Failure(problem_type(problem) or "card-declined", str(reason), 402, "card")


def undeliverable(problem: dict[str, Any]) -> Failure:
    """Shipping's 422 in the checkout form's terms: `destination.country` is the address's."""
    field, message = first_error(problem, default_field="address")
    field = str(problem.get("field") or field)
    field = "address." + field.split(".", 1)[1] if "." in field else field
    if field.startswith("address.") and field.count(".") > 1:
        field = "address." + field.rsplit(".", 1)[1]
    detail = problem.get("detail") or message
    return Failure(problem_type(problem) or "destination-not-served", str(detail), 422, field)
