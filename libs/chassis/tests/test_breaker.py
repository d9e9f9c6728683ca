"""The circuit breaker of one callee: opens after consecutive failures, refuses at once,
lets one probe through once half-open, and closes on its success."""

from __future__ import annotations

import asyncio

import pytest
from chassis import metrics
from chassis.breaker import CalleeBreaker, CalleeFailed, CircuitOpen, breaker_for


async def fail(breaker: CalleeBreaker) -> None:
    with pytest.raises(CalleeFailed):
        async with breaker.attempt():
            raise CalleeFailed("answered 500")


async def succeed(breaker: CalleeBreaker) -> None:
    async with breaker.attempt():
        pass


def state_metric(callee: str) -> float:
    return metrics.http_client_breaker_state.labels("tests", callee)._value.get()


async def test_opens_after_consecutive_failures_and_refuses_at_once() -> None:
    breaker = CalleeBreaker("tests", "opens", threshold=3, reset_seconds=60)
    for _ in range(2):
        await fail(breaker)
    await succeed(breaker)  # a success in between: the count starts again
    for _ in range(3):
        await fail(breaker)
    assert breaker.state == "opened"
    assert state_metric("opens") == 2
    with pytest.raises(CircuitOpen):
        async with breaker.attempt():
            raise AssertionError("the callee must not be called while the breaker is open")


async def test_other_errors_are_not_failures_of_the_callee() -> None:
    breaker = CalleeBreaker("tests", "others", threshold=2, reset_seconds=60)
    for _ in range(5):  # a cancelled call, our own deadline: nothing said about the callee
        with pytest.raises(asyncio.CancelledError):
            async with breaker.attempt():
                raise asyncio.CancelledError
    assert breaker.state == "closed"


async def test_half_open_lets_one_probe_through_and_closes_on_its_success() -> None:
    breaker = CalleeBreaker("tests", "probe", threshold=1, reset_seconds=0.05)
    await fail(breaker)
    await asyncio.sleep(0.1)
    probe_inside = asyncio.Event()
    release = asyncio.Event()

    async def probe() -> None:
        async with breaker.attempt():
            probe_inside.set()
            await release.wait()

    task = asyncio.create_task(probe())
    await probe_inside.wait()
    assert breaker.state == "half-opened"
    assert state_metric("probe") == 1
    with pytest.raises(CircuitOpen):  # a second caller waits for the probe's verdict
        await succeed(breaker)
    release.set()
    await task
    assert breaker.state == "closed"
    assert state_metric("probe") == 0
    await succeed(breaker)


async def test_a_failed_probe_opens_it_again() -> None:
    breaker = CalleeBreaker("tests", "reopen", threshold=1, reset_seconds=0.05)
    await fail(breaker)
    await asyncio.sleep(0.1)
    await fail(breaker)  # the probe
    assert breaker.state == "opened"
    with pytest.raises(CircuitOpen):
        await succeed(breaker)


def test_one_breaker_per_callee_in_a_process() -> None:
    assert breaker_for("tests", "catalog") is breaker_for("tests", "catalog")
    assert breaker_for("tests", "catalog") is not breaker_for("tests", "cart")


async def test_refusing_while_open_until_the_probe_is_due() -> None:
    breaker = CalleeBreaker("tests", "refusing", threshold=1, reset_seconds=0.1)
    assert not breaker.refusing()
    await fail(breaker)
    assert breaker.refusing()
    await asyncio.sleep(0.15)
    assert not breaker.refusing()  # due for a probe: a caller asking first lets it happen
