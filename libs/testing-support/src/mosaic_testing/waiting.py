"""Waiting on a condition, bounded: polled, never a fixed sleep."""

import time
from collections.abc import Callable


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll check() until it holds; fail the test with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)


def holds_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll check() for `seconds`; fail the test with `what` the first time it does not hold.
    For what must stay true (no second e-mail) over a window something could break it in."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not check():
            raise AssertionError(f"no longer holds: {what}")
        time.sleep(0.1)
    if not check():
        raise AssertionError(f"no longer holds: {what}")
