"""chassis.concurrency: calls at once, the first failure raised as it is."""

import asyncio

import pytest
from chassis.concurrency import all_of, concurrently


async def _fails(seconds: float, error: Exception) -> str:
    await asyncio.sleep(seconds)
    raise error


async def test_results_come_in_the_calls_order_and_the_calls_overlap() -> None:
    second_ran = asyncio.Event()

    async def waits_for_the_second() -> str:
        await second_ran.wait()  # one call after the other would never get here
        return "first"

    async def second() -> str:
        second_ran.set()
        return "second"

    async with asyncio.timeout(5):
        results = await concurrently(waits_for_the_second(), second())

    assert results == ("first", "second")


async def test_the_first_failure_is_raised_as_it_is_and_the_others_are_cancelled() -> None:
    cancelled = asyncio.Event()

    async def long() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    with pytest.raises(LookupError, match="gone"):
        await all_of([long(), _fails(0.01, LookupError("gone"))])
    assert cancelled.is_set()


async def test_nothing_to_wait_for_is_an_empty_list() -> None:
    assert await all_of([]) == []
