"""accounts' errors as RFC 9457 problem+json: their types, and their place in the contract."""

from __future__ import annotations

from typing import Any

from chassis import Problem, problem_response
from chassis.errors import documented
from fastapi import Request
from fastapi.responses import Response

from accounts.addresses import AddressLimitReached, AddressNotFound
from accounts.domain import (
    AccessTokenExpired,
    AccessTokenInvalid,
    AccountsError,
    EmailNotVerified,
    EmailUnavailable,
    InvalidCredentials,
    InvalidEmail,
    PasswordRejected,
    PasswordRequired,
    SessionEnded,
    TooManyAttempts,
    VerificationLinkInvalid,
    VerificationPasswordMismatch,
    WrongPassword,
)
from accounts.limits import LimiterUnavailable

# Each rule the service enforces, as the status and stable `type` slug a caller sees.
PROBLEMS: dict[type[AccountsError], tuple[int, str]] = {
    InvalidEmail: (422, "invalid-email"),
    PasswordRejected: (422, "password-rejected"),
    PasswordRequired: (422, "password-required"),
    InvalidCredentials: (401, "invalid-credentials"),
    AccessTokenInvalid: (401, "access-token-invalid"),
    AccessTokenExpired: (401, "access-token-expired"),
    SessionEnded: (401, "session-ended"),
    WrongPassword: (403, "wrong-password"),
    EmailNotVerified: (403, "email-unverified"),
    VerificationLinkInvalid: (410, "verification-link-invalid"),
    VerificationPasswordMismatch: (403, "verification-password-mismatch"),
    EmailUnavailable: (409, "email-unavailable"),
    AddressNotFound: (404, "address-not-found"),
    AddressLimitReached: (409, "address-limit-reached"),
    TooManyAttempts: (429, "too-many-attempts"),
}

# RFC 6750: a 401 names the scheme, and says when the token itself is the problem.
_CHALLENGES = {
    InvalidCredentials: 'Bearer realm="mosaic-users"',
    AccessTokenInvalid: 'Bearer realm="mosaic-users", error="invalid_token"',
    AccessTokenExpired: (
        'Bearer realm="mosaic-users", error="invalid_token", error_description="expired"'
    ),
    SessionEnded: 'Bearer realm="mosaic-users", error="invalid_token", error_description="ended"',
}


async def on_accounts_error(request: Request, error: Exception) -> Response:
    """Installed by the app for `AccountsError` and `LimiterUnavailable`."""
    if isinstance(error, LimiterUnavailable):
        # Refused rather than let through: without the limits, guessing would be free.
        detail = "Signing in is briefly unavailable; try again in a moment."
        problem = Problem(503, "limits-unavailable", detail, headers={"Retry-After": "1"})
        return problem_response(problem, request.url.path)
    assert isinstance(error, AccountsError)
    status, kind = PROBLEMS[type(error)]
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if challenge := _CHALLENGES.get(type(error)):
        headers["WWW-Authenticate"] = challenge
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
        extensions["retry_after"] = error.retry_after
    if isinstance(error, PasswordRejected):
        extensions["reasons"] = error.reasons
    problem = Problem(status, kind, str(error), headers=headers, **extensions)
    return problem_response(problem, request.url.path)


Responses = dict[int | str, dict[str, Any]]


def responses(**by_status: str) -> Responses:
    """`responses(_404="No such address")` -> the documented problem responses."""
    return {int(status.lstrip("_")): documented(text) for status, text in by_status.items()}


INVALID = responses(_422="A parameter or the body is not valid")
SIGNED_IN = responses(
    _401="No valid access token (`access-token-invalid`, `access-token-expired`) or the "
    "session has ended (`session-ended`)"
)
LIMITED = responses(
    _429="Too many attempts: wait `Retry-After` seconds",
    _503="The attempt limits cannot be checked right now: try again shortly",
)
