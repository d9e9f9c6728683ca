"""Shipping's errors as RFC 9457 problem+json: their types, and their place in the contract."""

from __future__ import annotations

from typing import Any

from chassis import Problem, documented, problem_response
from fastapi import Request
from fastapi.responses import Response

from shipping.domain import (
    DestinationNotServed,
    IdempotencyKeyReused,
    ShipmentNotFound,
    ShippingError,
    UnknownOption,
)

# Each rule the domain enforces, as the status and stable `type` slug a caller sees.
PROBLEMS: dict[type[ShippingError], tuple[int, str]] = {
    DestinationNotServed: (422, "destination-not-served"),
    UnknownOption: (422, "unknown-shipping-option"),
    ShipmentNotFound: (404, "shipment-not-found"),
    IdempotencyKeyReused: (422, "idempotency-key-reused"),
}


async def on_shipping_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ShippingError)
    status, kind = PROBLEMS[type(error)]
    extensions: dict[str, Any] = {}
    if error.field is not None:
        # `field` for callers that show it next to an input; `errors` like every 422 here.
        extensions = {"field": error.field, "errors": [_field(error)]}
    return problem_response(Problem(status, kind, str(error), **extensions), request.url.path)


def _field(error: ShippingError) -> dict[str, str]:
    return {"location": f"body.{error.field}", "message": str(error)}


Responses = dict[int | str, dict[str, Any]]
INVALID: Responses = {
    422: documented(
        "The body is not valid (invalid-request), the destination is not served "
        "(destination-not-served, with `field`), or the option is unknown"
    )
}
KEYED: Responses = {
    400: documented("The Idempotency-Key header is missing or malformed"),
    422: documented(
        "The body is not valid (invalid-request), the destination is not served "
        "(destination-not-served, with `field`), the option is unknown, or the key was "
        "used for a different request (idempotency-key-reused)"
    ),
}
NOT_FOUND: Responses = {404: documented("No such shipment")}
MALFORMED: Responses = {422: documented("A parameter is not valid (invalid-request)")}
