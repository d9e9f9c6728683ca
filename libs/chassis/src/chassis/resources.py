"""Backing resources a service holds for its lifetime (database, cache, HTTP client).

Each is created in the app's lifespan, retried with backoff until it answers (so a service
started before its database waits instead of crashing), pinged by /readyz, closed on shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar, runtime_checkable

import stamina
from starlette.requests import Request

from chassis.logs import get_logger

_log = get_logger("chassis.resources")

R = TypeVar("R")


@runtime_checkable
class Resource(Protocol):
    name: str

    async def open(self) -> None:
        """Create clients/pools; cheap, does not need the backing service to be up."""

    async def ping(self) -> None:
        """Raise if the backing service does not answer."""

    async def close(self) -> None:
        """Release connections."""


class Resources:
    """The resources of one app, looked up by type."""

    def __init__(self, items: Iterable[Resource]) -> None:
        self.items = list(items)

    def get(self, kind: type[R]) -> R:
        for item in self.items:
            if isinstance(item, kind):
                return item
        raise LookupError(f"no {kind.__name__} registered with this app")

    async def start(self, timeout: float) -> None:
        """Open every resource and wait, with backoff, until each answers."""
        await asyncio.gather(*(_start_one(item, timeout) for item in self.items))

    async def check(self, timeout: float = 1.0) -> dict[str, str]:
        """Ping all resources concurrently: name -> "ok" or the error."""
        results = await asyncio.gather(
            *(asyncio.wait_for(item.ping(), timeout) for item in self.items),
            return_exceptions=True,
        )
        return {
            item.name: "ok" if not isinstance(result, BaseException) else _describe(result)
            for item, result in zip(self.items, results, strict=True)
        }

    async def close(self) -> None:
        await asyncio.gather(*(item.close() for item in self.items), return_exceptions=True)


async def _start_one(item: Resource, timeout: float) -> None:
    await item.open()
    async for attempt in stamina.retry_context(
        on=Exception, attempts=None, timeout=timeout, wait_initial=0.1, wait_max=2.0
    ):
        with attempt:
            if attempt.num > 1:
                _log.warning("waiting for backing service", resource=item.name, attempt=attempt.num)
            await asyncio.wait_for(item.ping(), 2.0)
    _log.info("backing service ready", resource=item.name)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    return f"{type(error).__name__}: {error}"[:200]


def dependency(kind: type[R]) -> Callable[[Request], Awaitable[R]]:
    """A FastAPI dependency returning the app's resource of this type.

    Usage: `DatabaseDep = Annotated[Database, Depends(dependency(Database))]`. It is async
    on purpose: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
    request (measured: it halved a cheap route's throughput).
    """

    async def get(request: Request) -> R:
        resources: Resources = request.app.state.resources
        return resources.get(kind)

    get.__name__ = f"get_{kind.__name__.lower()}"
    return get


Startup = Callable[[Resources], Awaitable[None]]
