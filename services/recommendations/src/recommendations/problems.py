"""The recommendations service's errors as RFC 9457 problem+json, and their place in the
contract."""

from __future__ import annotations

from typing import Any

from chassis import Problem, documented, problem_response
from fastapi import Request
from fastapi.responses import Response

from recommendations.handlers import (
    ExcludedIdTooLong,
    ProductNotFound,
    RecommendationError,
    TooManyExcluded,
)

Responses = dict[int | str, dict[str, Any]]

# Each rule the service enforces, as the status and stable `type` slug a caller sees.
PROBLEMS: dict[type[RecommendationError], tuple[int, str]] = {
    ProductNotFound: (404, "product-not-found"),
    TooManyExcluded: (422, "invalid-request"),
    ExcludedIdTooLong: (422, "invalid-request"),
}


async def on_recommendation_error(request: Request, error: Exception) -> Response:
    """Installed by the app for `RecommendationError`."""
    assert isinstance(error, RecommendationError)
    status, kind = PROBLEMS[type(error)]
    problem = Problem(status, kind, str(error))
    if isinstance(error, ProductNotFound):
        problem.extensions["product_id"] = error.product_id
    return problem_response(problem, request.url.path)


DOCUMENTED: Responses = {
    404: documented("`product_id` names no product in catalog (`product-not-found`)"),
    422: documented("A parameter is not valid (`invalid-request`)"),
    503: documented("catalog could not be reached (`upstream-unavailable`)"),
    504: documented("catalog did not answer within the deadline (`upstream-timeout`)"),
}
