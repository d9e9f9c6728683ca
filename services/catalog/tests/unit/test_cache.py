"""Cache-aside rules that need no Valkey: what happens when it is not there."""

from __future__ import annotations

from typing import Any

import pytest
from catalog.cache import CatalogCache, InvalidationFailed
from chassis import Cache
from redis.exceptions import ConnectionError as RedisConnectionError


class DownClient:
    """A Valkey client whose server has gone away."""

    async def get(self, *_: Any, **__: Any) -> bytes:
        raise RedisConnectionError("connection refused")

    async def set(self, *_: Any, **__: Any) -> bool:
        raise RedisConnectionError("connection refused")


class DownCache(Cache):
    def __init__(self) -> None:
        super().__init__("redis://127.0.0.1:1/0", prefix="catalog")

    @property
    def client(self) -> Any:
        return DownClient()


async def test_reads_go_to_the_database_when_valkey_is_down() -> None:
    cache = CatalogCache(DownCache(), ttl_seconds=60)
    calls = 0

    async def load() -> bytes:
        nonlocal calls
        calls += 1
        return b"{}"

    assert await cache.through("product:x", load) == b"{}"
    assert await cache.through("product:x", load) == b"{}"
    assert calls == 2


async def test_a_write_says_when_it_could_not_retire_cached_reads() -> None:
    with pytest.raises(InvalidationFailed):
        await CatalogCache(DownCache(), ttl_seconds=60).invalidate()
