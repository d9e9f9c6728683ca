"""The events orders publishes (stream `events:orders`), versioned: their payloads, and the
JSON Schemas committed under `services/orders/events/` (generated from these models:
`python -m orders.events` rewrites them; a test checks they match and that every event
the saga writes validates against them).

Envelope (chassis.events.Event): {"id", "type", "version", "occurred_at", "data"}.
Compatibility (tolerant reader): consumers ignore fields they do not know, so a version
may gain *optional* fields (v1's `address` came so). Anything else (removing, renaming or
retyping a field, making one required, changing its meaning) is a new version with a new
model and file (`OrderConfirmed.v2.json`). The published schemas therefore do not forbid
unknown properties; what orders itself writes is checked strictly against the models.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson
from chassis import envelopes
from chassis.envelopes import EnvelopeV1, Payload
from chassis.envelopes import OutboxEvent as OutboxEvent  # what the saga and store write
from pydantic import AwareDatetime, Field

from orders.domain import Money, Order
from orders.shapes import as_model, line_as

SCHEMAS = Path(__file__).resolve().parents[2] / "events"
STREAM = "events:orders"


class MoneyV1(Payload):
    amount: int = Field(description="integer minor units")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")


class LineV1(Payload):
    product_id: str
    name: str
    quantity: int = Field(ge=1)
    unit_price: MoneyV1
    line_total: MoneyV1


class AddressV1(Payload):
    name: str
    line1: str
    line2: str | None = None
    city: str
    region: str | None = Field(default=None, description="state, province or county")
    postal_code: str | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class OrderConfirmedV1(Payload):
    """An order was paid and shipped: exactly one per confirmed order."""

    order_id: uuid.UUID
    email: str
    lines: list[LineV1] = Field(min_length=1)
    subtotal: MoneyV1
    shipping: MoneyV1
    shipping_option: str
    total: MoneyV1
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tracking_id: str
    status_url: str | None = Field(
        description="the order's status page for guests: a path carrying the unguessable token"
    )
    placed_at: AwareDatetime
    address: AddressV1 | None = Field(
        default=None, description="the delivery address (added to v1: optional for readers)"
    )
    given_name: str | None = Field(
        default=None,
        description="the signed-in shopper's given name, to greet by; none for a guest "
        "(added to v1 in v0.4.0: optional for readers)",
    )


class OrderCancelledV1(Payload):
    """An order was cancelled; whatever had been charged is refunded."""

    order_id: uuid.UUID
    email: str
    code: str = Field(description="why, as a stable slug, e.g. card-declined")
    reason: str = Field(description="why, for the shopper")
    field: str | None = Field(description="the checkout form's field it concerns, if any")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status_url: str | None
    placed_at: AwareDatetime


class OrderConfirmedEventV1(EnvelopeV1):
    type: Literal["OrderConfirmed"]
    data: OrderConfirmedV1


class OrderCancelledEventV1(EnvelopeV1):
    type: Literal["OrderCancelled"]
    data: OrderCancelledV1


ENVELOPES: dict[tuple[str, int], type[EnvelopeV1]] = {
    ("OrderConfirmed", 1): OrderConfirmedEventV1,
    ("OrderCancelled", 1): OrderCancelledEventV1,
}


def _money(money: Money) -> MoneyV1:
    return as_model(MoneyV1, money)


def _status_url(order: Order) -> str | None:
    return f"/orders/status/{order.status_token}" if order.status_token else None


def _placed(order: Order) -> datetime:
    return order.placed_at or datetime.now(UTC)


def _event(kind: str, payload: Payload) -> OutboxEvent:
    """The payload as the outbox's JSON: orjson writes the time as `isoformat()` does
    (`+00:00`, where pydantic's JSON would write `Z`), as every event so far has it."""
    return OutboxEvent(kind, 1, orjson.loads(orjson.dumps(payload.model_dump())))


def confirmed(order: Order) -> OutboxEvent:
    """OrderConfirmed: ValueError if the order was not shipped."""
    shipping, tracking_id = order.shipping, order.tracking_id
    if shipping is None or tracking_id is None:
        raise ValueError(f"order {order.id} is confirmed without a shipment")
    payload = OrderConfirmedV1(
        order_id=uuid.UUID(order.id),
        email=order.email,
        lines=[line_as(LineV1, line) for line in order.lines],
        subtotal=_money(order.subtotal),
        shipping=_money(shipping.price),
        shipping_option=shipping.option,
        total=_money(order.total),
        currency=order.currency,
        tracking_id=tracking_id,
        status_url=_status_url(order),
        placed_at=_placed(order),
        address=as_model(AddressV1, order.address),
        given_name=order.given_name,
    )
    return _event("OrderConfirmed", payload)


def cancelled(order: Order) -> OutboxEvent:
    """OrderCancelled: ValueError if the order has no failure (no reason to give)."""
    failure = order.failure
    if failure is None:
        raise ValueError(f"order {order.id} is cancelled without a reason")
    payload = OrderCancelledV1(
        order_id=uuid.UUID(order.id),
        email=order.email,
        code=failure.code,
        reason=failure.reason,
        field=failure.field,
        currency=order.currency,
        status_url=_status_url(order),
        placed_at=_placed(order),
    )
    return _event("OrderCancelled", payload)


def schema(kind: str, version: int) -> bytes:
    """The JSON Schema of an event's envelope, as committed."""
    return envelopes.schema("orders", kind, version, ENVELOPES[(kind, version)])


def schema_path(kind: str, version: int) -> Path:
    return envelopes.schema_path(SCHEMAS, kind, version)


def main(argv: list[str]) -> int:
    return envelopes.main("orders", ENVELOPES, SCHEMAS, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
