"""Orders as database rows and back: the JSON columns hold the domain's dataclasses field
for field (through pydantic's adapters of them), shipping's `days` excepted."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from orders.domain import Failure, Line, Order, Owner, Shipping, Step
from orders.shapes import address_of, money_json, money_of

_LINES: TypeAdapter[tuple[Line, ...]] = TypeAdapter(tuple[Line, ...])
_FAILURE: TypeAdapter[Failure] = TypeAdapter(Failure)


def lines_json(lines: tuple[Line, ...]) -> list[dict[str, Any]]:
    """`{product_id, name, quantity, unit_price}` per line (its total is derived)."""
    dumped: list[dict[str, Any]] = _LINES.dump_python(lines, mode="json")
    return dumped


def shipping_json(shipping: Shipping | None) -> dict[str, Any] | None:
    if shipping is None:
        return None
    return {
        "option": shipping.option,
        "name": shipping.name,
        "price": money_json(shipping.price),
        "days": {"min": shipping.days_min, "max": shipping.days_max},
    }


def _shipping_of(data: dict[str, Any]) -> Shipping:
    days = data["days"]
    return Shipping(data["option"], data["name"], money_of(data["price"]), days["min"], days["max"])


def failure_json(failure: Failure | None) -> dict[str, Any] | None:
    """`{code, reason, status, field, retryable, at}`."""
    return None if failure is None else _FAILURE.dump_python(failure, mode="json")


def order_of(row: Any) -> Order:
    """An Order from a row of `orders` (any query selecting its columns)."""
    return Order(
        id=str(row.id),
        owner=Owner(row.owner_kind, row.owner_id),
        email=row.email,
        currency=row.currency,
        shipping_option=row.shipping_option,
        address=address_of(row.address),
        step=Step(row.step),
        cart_id=str(row.cart_id) if row.cart_id else None,
        lines=_LINES.validate_python(row.lines),
        shipping=_shipping_of(row.shipping) if row.shipping else None,
        charge_id=row.charge_id,
        shipment_id=row.shipment_id,
        tracking_id=row.tracking_id,
        failure=_FAILURE.validate_python(row.failure) if row.failure else None,
        cart_cleared=row.cart_cleared,
        placed_at=row.placed_at,
        settle_until=row.settle_until,
        given_name=row.given_name,
    )
