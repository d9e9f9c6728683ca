"""Which circuit breaker library the chassis uses: overhead per call and half-open behaviour.

Run in a scratch venv with the candidates installed (they are not all dependencies):
    uv venv /tmp/cb && VIRTUAL_ENV=/tmp/cb uv pip install purgatory pybreaker aiobreaker
    /tmp/cb/bin/python bench/breaker_choice.py
Prints, per library, the CPU cost of one successful call through a closed breaker (beyond
the bare call), and how many of 20 concurrent calls reach the callee when the breaker has
just turned half-open (one is a probe; all 20 is a stampede on a callee that is recovering).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

CALLS = 50_000


class Boom(Exception):
    pass


async def noop() -> None:
    return None


async def per_call(run: Callable[[], Awaitable[None]]) -> float:
    started = time.process_time()
    for _ in range(CALLS):
        await run()
    return (time.process_time() - started) / CALLS * 1e6


async def half_open(
    guarded: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]], reset_s: float
) -> int:
    async def fail() -> None:
        raise Boom

    for _ in range(5):
        with contextlib.suppress(Exception):  # opening it
            await guarded(fail)
    await asyncio.sleep(reset_s + 0.05)
    reached = 0

    async def slow_ok() -> None:
        nonlocal reached
        reached += 1
        await asyncio.sleep(0.05)

    async def one() -> None:
        with contextlib.suppress(Exception):  # refused by the breaker
            await guarded(slow_ok)

    await asyncio.gather(*(one() for _ in range(20)))
    return reached


async def main() -> None:
    bare = await per_call(noop)
    results: dict[str, tuple[float, int]] = {}

    import pybreaker

    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=0.2)

    async def via_pybreaker(call: Callable[[], Awaitable[None]] = noop) -> None:
        with breaker.calling():
            await call()

    results["pybreaker"] = (await per_call(via_pybreaker) - bare, 0)
    results["pybreaker"] = (results["pybreaker"][0], await half_open(via_pybreaker, 0.2))

    from purgatory import AsyncCircuitBreakerFactory

    factory = AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=0.2)

    async def via_purgatory(call: Callable[[], Awaitable[None]] = noop) -> None:
        async with await factory.get_breaker("callee"):
            await call()

    cost = await per_call(via_purgatory) - bare
    results["purgatory"] = (cost, await half_open(via_purgatory, 0.2))

    import aiobreaker

    aio = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=0.2))

    async def via_aiobreaker(call: Callable[[], Awaitable[Any]] = noop) -> None:
        await aio.call_async(call)

    cost = await per_call(via_aiobreaker) - bare
    results["aiobreaker"] = (cost, await half_open(via_aiobreaker, 0.2))

    print(f"bare call: {bare:.2f} µs CPU")
    for name, (cost, reached) in results.items():
        print(f"{name:11} +{cost:6.2f} µs CPU per call; half-open let {reached}/20 through")


if __name__ == "__main__":
    asyncio.run(main())
