"""Circuit breakers on calls to other services: one per callee and process.

After `THRESHOLD` consecutive failed attempts (a timeout, a connection error, a 5xx) the
breaker opens and calls to that callee fail at once, as `UpstreamUnavailable` ("circuit
open"), for `RESET_SECONDS`: a dead callee then costs its callers nothing, no connect
timeout per call, no retries, and the degraded answer (a page without recommendations,
"checkout is unavailable") comes at once. Then one probe is let through (half-open): its
success closes the breaker, its failure opens it again. A 4xx is the callee answering; a
503 with Retry-After is the callee shedding load (`chassis.admission`), healthy and busy:
neither counts as a failure.

The state machine is purgatory's (async, typed; picked over pybreaker and aiobreaker by
bench/breaker_choice.py: +2.2 µs of CPU per call, against +5.1 for pybreaker, beside a
hop's ~260 µs; aiobreaker's last release is from 2021). All three let every call through
once half-open (20 of 20 concurrent calls in the bench): the single probe is ours.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import Context, OpenedState

from chassis import metrics

THRESHOLD = 5
RESET_SECONDS = 5.0
_STATE_VALUES = {"closed": 0, "half-opened": 1, "opened": 2}


class CircuitOpen(Exception):
    """The callee's breaker is open (or its one half-open probe is in flight)."""


class CalleeFailed(Exception):
    """An attempt that failed for the breaker: raised inside `attempt` by the client (a
    `Retryable` or a 5xx answer is turned into one), so that the breaker counts it."""


class CalleeBreaker:
    """The breaker of calls from this process to one callee."""

    def __init__(
        self,
        caller: str,
        callee: str,
        *,
        threshold: int = THRESHOLD,
        reset_seconds: float = RESET_SECONDS,
    ) -> None:
        self.caller = caller
        self.callee = callee
        # Only CalleeFailed counts as a failure; anything else raised inside (a
        # cancellation, our own deadline passing) says nothing about the callee.
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold,
            default_ttl=reset_seconds,
            exclude=[(BaseException, lambda error: not isinstance(error, CalleeFailed))],
        )
        self._probing = False
        self._state = "closed"
        self._context: Context | None = None  # purgatory's state, once an attempt was made
        self._gauge = metrics.http_client_breaker_state.labels(caller, callee)
        self._refused = metrics.http_client_breaker_refused.labels(caller, callee)
        self._gauge.set(0)

    @property
    def state(self) -> str:
        """closed, opened or half-opened (purgatory's words), as of the last attempt."""
        return self._state

    def refusing(self) -> bool:
        """Whether a call now would be refused without reaching the callee: open, and not
        yet due for its probe (so a caller that asks first still lets the probe happen)."""
        context = self._context
        if context is None or context.state != "opened" or context.opened_at is None:
            return False
        return time.time() < context.opened_at + context.ttl

    @asynccontextmanager
    async def attempt(self) -> AsyncIterator[None]:
        """One attempt at the callee: raises CircuitOpen at once when refused."""
        breaker = await self._factory.get_breaker(self.callee)
        self._context = breaker.context
        probe = breaker.context.state != "closed"
        if probe and self._probing:  # one probe at a time: the callee may be recovering
            self._refused.inc()
            raise CircuitOpen(self.callee)
        self._probing = probe  # no await since the check: nothing else ran in between
        try:
            try:
                await breaker.__aenter__()
            except OpenedState as opened:
                # purgatory raises the same instance each time: drop its traceback, which
                # would otherwise grow by these frames with every refusal.
                opened.__traceback__ = None
                self._refused.inc()
                raise CircuitOpen(self.callee) from None
            self._record(breaker.context.state)
            try:
                yield
            except BaseException as error:
                await breaker.__aexit__(type(error), error, error.__traceback__)
                raise
            await breaker.__aexit__(None, None, None)
        finally:
            self._record(breaker.context.state)
            if probe:
                self._probing = False

    def _record(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._gauge.set(_STATE_VALUES.get(state, 0))


_breakers: dict[str, CalleeBreaker] = {}


def breaker_for(
    caller: str,
    callee: str,
    *,
    threshold: int = THRESHOLD,
    reset_seconds: float = RESET_SECONDS,
) -> CalleeBreaker:
    """The process's one breaker for calls to `callee`, shared by all its clients (made
    with `threshold` and `reset_seconds` by the first to ask)."""
    breaker = _breakers.get(callee)
    if breaker is None:
        breaker = CalleeBreaker(caller, callee, threshold=threshold, reset_seconds=reset_seconds)
        _breakers[callee] = breaker
    return breaker


def reset_breakers() -> None:
    """Forget every callee's breaker (for tests that start from a clean process)."""
    _breakers.clear()


__all__ = ["CalleeBreaker", "CalleeFailed", "CircuitOpen", "breaker_for", "reset_breakers"]
