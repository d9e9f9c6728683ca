"""orders' errors as RFC 9457 problem+json, and the answers of a checkout."""

from __future__ import annotations

from typing import Any

import orjson
from chassis import documented
from chassis.errors import PROBLEM_MEDIA_TYPE, TYPE_BASE
from fastapi.responses import Response

from orders.checkout import Placed
from orders.domain import Step
from orders.schemas import checkout_view

REPLAYED_HEADER = "Idempotent-Replayed"

_TITLES = {
    402: "Payment failed",
    409: "Cannot place this order",
    422: "Check the checkout form",
    503: "Order not placed",
}


def checkout_answer(placed: Placed) -> Response:
    """The checkout's answer, the same bytes for every request with its key: 201 confirmed;
    a problem (402, 409, 422, 503) carrying the cancelled order and its reason; or 202 while
    the saga has not ended (ask again with the same key, or GET the order)."""
    order = placed.order
    view = checkout_view(order, placed.token).model_dump(mode="json")
    headers = {REPLAYED_HEADER: "true"} if placed.replayed else {}
    headers["Location"] = f"/v1/orders/{order.id}"
    if order.step is Step.CONFIRMED:
        return _json(view, 201, headers)
    if order.step is not Step.CANCELLED or order.failure is None:
        return _json(view, 202, headers)
    failure = order.failure
    # Built here rather than by chassis.Problem: no request id, so repeats are identical.
    problem = {
        "type": TYPE_BASE + failure.code,
        "title": _TITLES.get(failure.status, "Order cancelled"),
        "status": failure.status,
        "detail": failure.reason,
        "field": failure.field,
        "order_id": order.id,
        "order": view,
    }
    return _json(problem, failure.status, headers, PROBLEM_MEDIA_TYPE)


def _json(
    body: dict[str, Any], status: int, headers: dict[str, str], media: str = "application/json"
) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=media)


Responses = dict[int | str, dict[str, Any]]
INVALID: Responses = {
    422: documented(
        "The body, a header or a parameter is not valid (`invalid-request`; "
        "`currency-not-supported` for a limit asked in a currency payments does not know), the "
        "Idempotency-Key was used for another checkout (`idempotency-key-reused`), or the "
        "order was cancelled for a field of the form (`destination-not-served`, "
        "`card-invalid`, `shipping-option-unavailable`, `currency-not-supported`; with "
        "`field`, `order_id` and the cancelled `order`)"
    )
}
OWNER: Responses = {401: documented("The user access token is missing, invalid or expired")}
NOT_FOUND: Responses = {404: documented("No such order of this owner")}
UNAVAILABLE: Responses = {503: documented("payments cannot answer now (`payments-unavailable`)")}
CHECKOUT: Responses = {
    402: documented(
        "The payment failed and the order is cancelled (`card-declined`, "
        "`insufficient-funds`, `processing-error`, `processor-timeout`, "
        "`payment-unconfirmed`): `detail` says why, for the shopper; `field`, `order_id` "
        "and the cancelled `order` come along"
    ),
    409: documented(
        "The cart is empty (`cart-empty`), holds a product no longer sold "
        "(`product-unavailable`), or comes to more than one card payment may be in its "
        "currency (`amount-over-limit`, see GET /v1/limits/{currency}); nothing was charged"
    ),
    503: documented(
        "The order could not be placed now (`shop-unavailable`, `checkout-interrupted`); "
        "nothing was charged. The same Idempotency-Key may be used again"
    ),
}
