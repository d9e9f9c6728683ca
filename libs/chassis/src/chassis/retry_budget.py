"""The retry budget: a process retries at most a tenth of its calls to a callee.

Why: three attempts per call is fine when a single call fails, and a disaster when the
callee is overloaded, since then every call fails, and retries triple the load on the one
process that can least take it (a retry storm). A budget keeps retries a small share of
what the callee already gets: when most calls fail, most are not retried.

A sliding window of one-second buckets (`WINDOW_SECONDS` of them): a retry is allowed while
the window's retries stay under `RATIO` of its calls, or under `FLOOR`, so that a caller
making a few calls a minute may still retry the odd failure (a floor of 3 per 10 s is
nothing next to a loaded callee's hundreds of calls per second). One budget per callee and
process, kept in `budget_for`, like the breakers (`chassis.breaker`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

RATIO = 0.1
FLOOR = 3
WINDOW_SECONDS = 10


class RetryBudget:
    """Counts calls and retries per second over the last `window` seconds."""

    def __init__(
        self,
        *,
        ratio: float = RATIO,
        floor: int = FLOOR,
        window: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.floor = floor
        self.window = window
        self._clock = clock
        self._calls = [0] * window
        self._retries = [0] * window
        self._second = int(clock())

    def record_call(self) -> None:
        """A call (its first attempt) was made."""
        self._calls[self._slot()] += 1

    def try_retry(self) -> bool:
        """Whether one more retry is within budget; if so it is counted as spent."""
        slot = self._slot()
        retries = sum(self._retries)
        if retries >= self.floor and retries + 1 > self.ratio * sum(self._calls):
            return False
        self._retries[slot] += 1
        return True

    def _slot(self) -> int:
        """The current second's bucket, after emptying those of the seconds gone by."""
        now = int(self._clock())
        passed = now - self._second
        if passed > 0:
            for second in range(self._second + 1, self._second + 1 + min(passed, self.window)):
                self._calls[second % self.window] = 0
                self._retries[second % self.window] = 0
            self._second = now
        return now % self.window


_budgets: dict[str, RetryBudget] = {}


def budget_for(callee: str) -> RetryBudget:
    """The process's one budget for calls to `callee`, shared by all its clients."""
    budget = _budgets.get(callee)
    if budget is None:
        budget = _budgets[callee] = RetryBudget()
    return budget


def reset_budgets() -> None:
    """Forget every callee's budget (for tests that start from a clean process)."""
    _budgets.clear()
