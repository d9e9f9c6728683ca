"""The cart's errors as RFC 9457 problem+json: their types, and their place in the contract."""

from __future__ import annotations

from typing import Any

from chassis import Problem, documented, problem_response
from fastapi import Request
from fastapi.responses import Response

from cart.domain import (
    CartError,
    CartNotFound,
    LineNotFound,
    QuantityOutOfRange,
    TooManyLines,
    UnknownProduct,
)

# Each rule the domain enforces, as the status and stable `type` slug a caller sees.
PROBLEMS: dict[type[CartError], tuple[int, str]] = {
    CartNotFound: (404, "cart-not-found"),
    LineNotFound: (404, "line-not-found"),
    QuantityOutOfRange: (422, "quantity-out-of-range"),
    TooManyLines: (422, "too-many-lines"),
    UnknownProduct: (422, "unknown-product"),
}


async def on_cart_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, CartError)
    status, kind = PROBLEMS[type(error)]
    return problem_response(Problem(status, kind, str(error)), request.url.path)


Responses = dict[int | str, dict[str, Any]]
INVALID: Responses = {422: documented("A parameter or the body is not valid, or a bound is broken")}
OWNER: Responses = {401: documented("The user access token is missing, invalid or expired")}
CART_NOT_FOUND: Responses = {404: documented("No such cart of this owner")}
CATALOG_DOWN: Responses = {503: documented("Catalog is unavailable; nothing was changed")}
