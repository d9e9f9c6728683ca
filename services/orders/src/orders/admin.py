"""What an operator sees of an order (`GET /v1/admin/orders/{id}`, callers: admin): the
saga's state and lease, the charge and shipment ids, the settling window and the outbox,
for support and for the system tests' invariant checks. Never the owner's proof (a
visitor id is a bearer secret), the guest token or the Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from orders.schemas import OrderView, order_view
from orders.store import Inspection


class FailureView(BaseModel):
    code: str
    reason: str
    status: int = Field(description="the HTTP status the checkout answered with")
    field: str | None
    at: str = Field(description="the step that failed")
    retryable: bool = Field(description="the checkout's Idempotency-Key was released")


class LeaseView(BaseModel):
    holder: str | None = Field(description="a live checkout's id, or recover-<id>")
    until: datetime
    expired: bool = Field(description="the recovery may take the saga over")


class EventView(BaseModel):
    id: str
    type: str
    version: int
    created_at: datetime
    published_at: datetime | None = Field(description="null until the relay published it")


class AdminOrderView(BaseModel):
    order: OrderView = Field(description="the order as its owner sees it")
    step: str = Field(description="the saga's step (pricing ... confirmed, cancelled)")
    finished: bool = Field(
        description="nothing left to do: settled if cancelled, cart cleared if confirmed"
    )
    owner_kind: str = Field(description="visitor or user")
    email: str
    failure: FailureView | None
    charge_id: str | None
    shipment_id: str | None
    tracking_id: str | None
    cart_id: str | None
    cart_cleared: bool
    settle_until: datetime | None = Field(
        description="cancelled without a charge seen: until then payments is watched for a "
        "late charge, which is refunded"
    )
    lease: LeaseView
    updated_at: datetime
    events: list[EventView] = Field(description="its outbox rows, in order")


def admin_view(found: Inspection) -> AdminOrderView:
    order, failure = found.order, found.order.failure
    return AdminOrderView(
        order=order_view(order),
        step=order.step.value,
        finished=order.finished,
        owner_kind=order.owner.kind,
        email=order.email,
        failure=FailureView.model_validate(failure, from_attributes=True) if failure else None,
        charge_id=order.charge_id,
        shipment_id=order.shipment_id,
        tracking_id=order.tracking_id,
        cart_id=order.cart_id,
        cart_cleared=order.cart_cleared,
        settle_until=order.settle_until,
        lease=LeaseView(
            holder=found.lease_holder, until=found.lease_until, expired=found.lease_expired
        ),
        updated_at=found.updated_at,
        events=[
            EventView(
                id=e.event_id,
                type=e.type,
                version=e.version,
                created_at=e.created_at,
                published_at=e.published_at,
            )
            for e in found.events
        ],
    )
