"""The service's errors as RFC 9457 problem+json: their types, and their place in the contract."""

from __future__ import annotations

from typing import Any

import orjson
from chassis import Problem, documented, problem_response
from fastapi import Request
from fastapi.responses import Response

from payments.cards import CardInvalid
from payments.domain import (
    AmountOverLimit,
    ChargeNotFound,
    ChargeNotRefundable,
    Failure,
    IdempotencyKeyReused,
    OverRefund,
    PaymentsError,
    RefundCurrencyMismatch,
)
from payments.idempotency import Answer

# Each rule the domain enforces, as the status and stable `type` slug a caller sees.
PROBLEMS: dict[type[PaymentsError], tuple[int, str]] = {
    ChargeNotFound: (404, "charge-not-found"),
    IdempotencyKeyReused: (422, "idempotency-key-reused"),
    AmountOverLimit: (422, "amount-over-limit"),
    RefundCurrencyMismatch: (422, "refund-currency-mismatch"),
    ChargeNotRefundable: (409, "charge-not-refundable"),
    OverRefund: (409, "over-refund"),
}


def problem_of(error: PaymentsError) -> Problem:
    status, kind = PROBLEMS[type(error)]
    return Problem(status, kind, str(error))


def failure_problem(failure: Failure, charge_id: str) -> Problem:
    """A failed charge (402): recorded, and answered with what the shopper can read."""
    return Problem(
        402,
        failure.kind,
        failure.message,
        title=failure.heading,
        code=failure.value,
        charge_id=charge_id,
    )


def stored_problem(problem: Problem, instance: str) -> Answer:
    """A problem as an answer kept under an idempotency key."""
    return Answer(problem.status, orjson.dumps(problem.body(instance)))


async def on_payments_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PaymentsError)
    return problem_response(problem_of(error), request.url.path)


async def on_card_invalid(request: Request, error: Exception) -> Response:
    """422 `card-invalid` with an error per field, in the chassis's shape (`location`,
    `message`) plus the field's path in the body (`field`, e.g. `card.number`)."""
    assert isinstance(error, CardInvalid)
    errors = [
        {"field": e.field, "location": f"body.{e.field}", "message": e.message}
        for e in error.errors
    ]
    problem = Problem(422, "card-invalid", str(error), title="Card not valid", errors=errors)
    return problem_response(problem, request.url.path)


Responses = dict[int | str, dict[str, Any]]
INVALID: Responses = {
    422: documented(
        "A parameter, header or the body is not valid (`invalid-request`; `card-invalid` "
        "with an error per card field); the amount is over its currency's limit "
        "(`amount-over-limit`); or the Idempotency-Key was used with another request "
        "(`idempotency-key-reused`)"
    )
}
DECLINED: Responses = {
    402: documented(
        "The charge failed and is recorded (`charge_id`, `code`): `card-declined`, "
        "`insufficient-funds`, `processing-error` or `processor-timeout`"
    )
}
NOT_FOUND: Responses = {404: documented("No such charge")}
REFUSED: Responses = {
    409: documented(
        "The charge cannot take this refund: it failed (`charge-not-refundable`) or not "
        "that much is left to refund (`over-refund`); stored under the key like a result"
    )
}
