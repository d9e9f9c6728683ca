"""Bounded polling until a server answers."""

import asyncio
from collections.abc import Awaitable, Callable

from mosaic.errors import MosaicError


async def wait_until(
    ping: Callable[[], Awaitable[bool]], name: str, timeout: float, alive: Callable[[], bool]
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await ping():
        if not alive():
            raise MosaicError(f"{name} stopped while starting")
        if loop.time() > deadline:
            raise MosaicError(f"{name} was not ready within {timeout:.0f} s")
        await asyncio.sleep(0.05)
