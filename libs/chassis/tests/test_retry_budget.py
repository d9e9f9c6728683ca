"""The retry budget: at most a tenth of a callee's calls are retried, over a sliding window."""

from __future__ import annotations

from chassis.retry_budget import RetryBudget, budget_for, reset_budgets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_quiet_caller_may_still_retry_up_to_the_floor() -> None:
    budget = RetryBudget(ratio=0.1, floor=3, window=10, clock=Clock())
    budget.record_call()
    assert [budget.try_retry() for _ in range(4)] == [True, True, True, False]


def test_under_load_retries_stay_within_a_tenth_of_the_calls() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.1, floor=3, window=10, clock=clock)
    allowed = 0
    for _ in range(1000):  # every call fails and asks for a retry: a callee down
        budget.record_call()
        allowed += budget.try_retry()
        clock.now += 0.005
    assert allowed == 100  # 10 % of 1,000 calls, the floor included in it


def test_spent_retries_come_back_as_the_window_slides() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.1, floor=3, window=10, clock=clock)
    for _ in range(3):
        budget.try_retry()
    assert not budget.try_retry()
    clock.now += 9  # still inside the window
    assert not budget.try_retry()
    clock.now += 2  # the second of those retries is out of it
    assert budget.try_retry()


def test_a_long_pause_empties_the_whole_window() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.1, floor=0, window=10, clock=clock)
    for _ in range(100):
        budget.record_call()
    clock.now += 3600
    assert not budget.try_retry()  # the calls of an hour ago do not pay for a retry now


def test_one_budget_per_callee_in_a_process() -> None:
    reset_budgets()
    assert budget_for("catalog") is budget_for("catalog")
    assert budget_for("catalog") is not budget_for("cart")
