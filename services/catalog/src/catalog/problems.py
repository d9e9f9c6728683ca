"""The catalog's errors as RFC 9457 problem+json: their types, and their place in the contract."""

from __future__ import annotations

from typing import Any

from chassis import Problem, problem_response
from chassis.errors import documented
from fastapi import Request
from fastapi.responses import Response

from catalog.cache import InvalidationFailed
from catalog.domain import (
    CatalogError,
    CategoryNotFound,
    InvalidSearch,
    ProductNotFound,
    ReadOnlyField,
    UnknownCategory,
)

# Each rule the domain enforces, as the status and stable `type` slug a caller sees.
PROBLEMS: dict[type[CatalogError], tuple[int, str]] = {
    ProductNotFound: (404, "product-not-found"),
    CategoryNotFound: (404, "category-not-found"),
    UnknownCategory: (422, "unknown-category"),
    ReadOnlyField: (422, "read-only-field"),
    InvalidSearch: (422, "invalid-request"),  # as the chassis calls every bad parameter
}


async def on_catalog_error(request: Request, error: Exception) -> Response:
    """Installed by the app for `CatalogError` and `InvalidationFailed`."""
    if isinstance(error, InvalidationFailed):
        detail = "The change is saved, but cached reads may show the old product; repeat it."
        problem = Problem(503, "cache-unavailable", detail, headers={"Retry-After": "1"})
    else:
        assert isinstance(error, CatalogError)
        status, kind = PROBLEMS[type(error)]
        problem = Problem(status, kind, str(error))
    return problem_response(problem, request.url.path)


Responses = dict[int | str, dict[str, Any]]
INVALID: Responses = {422: documented("A parameter or the body is not valid")}
PRODUCT_NOT_FOUND: Responses = {404: documented("No such product")}
NOT_CACHED: Responses = {
    503: documented("Saved, but cached reads may still show the old product: repeat it")
}
