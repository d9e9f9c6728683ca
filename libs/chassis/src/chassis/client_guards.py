"""What guards a `ServiceClient`'s attempts against an overloaded or dead callee: whether
to retry (`Retry-After`, the deadline, the retry budget) and what the callee's circuit
breaker counts as a failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chassis import metrics
from chassis.breaker import CalleeBreaker, CalleeFailed
from chassis.client_errors import Retryable
from chassis.client_response import Response, retry_after
from chassis.retry_budget import RetryBudget


def retry_wait(
    failure: Exception, left: float, budget: RetryBudget, caller: str, callee: str
) -> bool | float:
    """Whether to try again after `failure`, `left` seconds before the deadline: False,
    True (after the usual backoff) or the seconds the callee asked for in `Retry-After`;
    never past the deadline, and only within the callee's retry budget."""
    if not isinstance(failure, Retryable) or left <= 0:
        return False
    asked = retry_after(failure.response)
    if asked is not None and asked >= left:
        return False  # the callee will not take it back in time: its 503 is the answer
    if not budget.try_retry():
        metrics.http_client_retries_refused.labels(caller, callee).inc()
        return False
    return True if asked is None else asked


async def through_breaker(
    breaker: CalleeBreaker, send: Callable[[], Awaitable[Response]]
) -> Response:
    """One attempt (`send`) as the callee's breaker counts it: a timeout, a connection error
    or a 5xx is a failure; a 4xx, or a 503 with Retry-After (shedding load), is not.
    Raises `CircuitOpen` when refused, else what `send` raised."""
    failure: Retryable | None = None
    response: Response | None = None
    try:
        async with breaker.attempt():
            try:
                response = await send()
            except Retryable as error:
                if retry_after(error.response) is not None:
                    raise
                failure = error
                raise CalleeFailed(error.reason) from None
            if response.status >= 500:
                raise CalleeFailed(f"answered {response.status}")
    except CalleeFailed:
        if failure is not None:
            raise failure from None
    assert response is not None  # else the breaker refused or send raised
    return response
