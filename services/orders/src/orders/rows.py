"""Orders as database rows and back: the JSON columns' shapes in one place."""

from __future__ import annotations

from typing import Any

from orders.domain import Address, Failure, Line, Money, Order, Owner, Shipping, Step


def _money(money: Money) -> dict[str, Any]:
    return {"amount": money.amount, "currency": money.currency}


def _money_of(data: dict[str, Any]) -> Money:
    return Money(int(data["amount"]), str(data["currency"]))


def address_json(address: Address) -> dict[str, Any]:
    return {
        "name": address.name,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "region": address.region,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def lines_json(lines: tuple[Line, ...]) -> list[dict[str, Any]]:
    return [
        {
            "product_id": line.product_id,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": _money(line.unit_price),
        }
        for line in lines
    ]


def shipping_json(shipping: Shipping | None) -> dict[str, Any] | None:
    if shipping is None:
        return None
    return {
        "option": shipping.option,
        "name": shipping.name,
        "price": _money(shipping.price),
        "days": {"min": shipping.days_min, "max": shipping.days_max},
    }


def failure_json(failure: Failure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {
        "code": failure.code,
        "reason": failure.reason,
        "status": failure.status,
        "field": failure.field,
        "retryable": failure.retryable,
        "at": failure.at.value,
    }


def order_of(row: Any) -> Order:
    """An Order from a row of `orders` (any query selecting its columns)."""
    shipping, failure = row.shipping, row.failure
    return Order(
        id=str(row.id),
        owner=Owner(row.owner_kind, row.owner_id),
        email=row.email,
        currency=row.currency,
        shipping_option=row.shipping_option,
        address=Address(**row.address),
        step=Step(row.step),
        cart_id=str(row.cart_id) if row.cart_id else None,
        lines=tuple(
            Line(item["product_id"], item["name"], item["quantity"], _money_of(item["unit_price"]))
            for item in row.lines
        ),
        shipping=Shipping(
            shipping["option"],
            shipping["name"],
            _money_of(shipping["price"]),
            shipping["days"]["min"],
            shipping["days"]["max"],
        )
        if shipping
        else None,
        charge_id=row.charge_id,
        shipment_id=row.shipment_id,
        tracking_id=row.tracking_id,
        failure=Failure(
            failure["code"],
            failure["reason"],
            failure["status"],
            failure["field"],
            failure["retryable"],
            Step(failure["at"]),
        )
        if failure
        else None,
        cart_cleared=row.cart_cleared,
        placed_at=row.placed_at,
        settle_until=row.settle_until,
    )
