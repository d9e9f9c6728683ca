"""orders' errors as RFC 9457 problem+json: every problem type it answers, and their
documentation for the routes (the success answers are in `answers.py`)."""

from __future__ import annotations

from typing import Any

from chassis import Problem, documented
from chassis.errors import TYPE_BASE

from orders.domain import Failure

_TITLES = {
    402: "Payment failed",
    409: "Cannot place this order",
    422: "Check the checkout form",
    503: "Order not placed",
}


class OrderNotFound(Problem):
    def __init__(self) -> None:
        # The same answer for a missing order and someone else's: ids reveal nothing.
        super().__init__(404, "order-not-found", "No such order.")


class KeyReused(Problem):
    def __init__(self) -> None:
        super().__init__(
            422,
            "idempotency-key-reused",
            "This Idempotency-Key was used for another checkout; use a new key per checkout.",
        )


class PaymentsUnavailable(Problem):
    def __init__(self) -> None:
        super().__init__(503, "payments-unavailable", "The payment limits cannot be read just now.")


def refused(failure: Failure) -> Problem:
    """A callee's refusal outside a checkout (a limit asked in a currency payments does not
    know): its slug and sentence, as a 422."""
    return Problem(422, failure.code, failure.reason)


def cancelled(order_id: str, failure: Failure, view: dict[str, Any]) -> dict[str, Any]:
    """A cancelled checkout's problem body, carrying the order as shown (`view`).

    Built here rather than by chassis.Problem: no request id, so repeats are identical."""
    return {
        "type": TYPE_BASE + failure.code,
        "title": _TITLES.get(failure.status, "Order cancelled"),
        "status": failure.status,
        "detail": failure.reason,
        "field": failure.field,
        "order_id": order_id,
        "order": view,
    }


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
