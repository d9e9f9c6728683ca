"""The currency service's errors as RFC 9457 problem+json: their types, and their place in
the contract."""

from __future__ import annotations

from typing import Any

from chassis import Problem, documented, problem_response
from fastapi import Request
from fastapi.responses import Response

from currency.domain import CurrencyError, UnsupportedCurrency

# Each rule the domain enforces, as the status and stable `type` slug a caller sees.
PROBLEMS: dict[type[CurrencyError], tuple[int, str]] = {
    UnsupportedCurrency: (422, "unsupported-currency"),
}


async def on_currency_error(request: Request, error: Exception) -> Response:
    """Installed by the app for `CurrencyError`."""
    assert isinstance(error, CurrencyError)
    status, kind = PROBLEMS[type(error)]
    problem = Problem(status, kind, str(error))
    if isinstance(error, UnsupportedCurrency):
        problem.extensions["currency"] = error.code
    return problem_response(problem, request.url.path)


Responses = dict[int | str, dict[str, Any]]
INVALID: Responses = {
    422: documented(
        "A parameter or the body is not valid (`invalid-request`), or names a currency not "
        "offered here (`unsupported-currency`)"
    )
}
