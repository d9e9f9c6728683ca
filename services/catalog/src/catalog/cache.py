"""Cache-aside for catalog reads in Valkey, with TTL, and invalidation on every write.

Every cached response lives under the current *generation*: `catalog:<generation>:<name>`.
A write commits to Postgres first and then replaces the generation, so every entry made
before it (product, list pages, search pages, categories) stops being read at once and
expires on its own TTL. This is also race-free: a reader that loaded old rows reads the
generation before the database, so it files them under the old generation, never the new.
The price is one extra Valkey round trip per read, which buys correctness after writes
across all replicas without any list of keys to chase.

Each process also keeps the bodies it has recently read, by generation and name, for at
most the TTL (`LocalBodies`): an entry of a generation never changes, so once the
generation is read (still on every request) a body this process already has is served
without a second round trip and without copying it out of Valkey again (a listing is tens
of kilobytes). The guarantee above is unchanged: a write replaces the generation, and no
body filed under an older one is served again, from Valkey or from memory.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from chassis import Cache, get_logger
from redis.exceptions import RedisError

_log = get_logger("catalog.cache")

# Opaque and never reused: if Valkey loses this key (restart, eviction), the fresh token
# still cannot match entries filed under an older generation.
GENERATION_KEY = "generation"
CACHE_NAME = "responses"  # the `cache` label of its hits and misses (a held body is a hit)


class LocalBodies:
    """Bodies this process has read lately, by (generation, name): at most `size` of them,
    each for at most its TTL; the least recently used goes first."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._bodies: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()

    def get(self, generation: str, name: str) -> bytes | None:
        found = self._bodies.get((generation, name))
        if found is None:
            return None
        if found[0] < time.monotonic():
            del self._bodies[(generation, name)]
            return None
        self._bodies.move_to_end((generation, name))
        return found[1]

    def put(self, generation: str, name: str, body: bytes, ttl_seconds: float) -> None:
        self._bodies[(generation, name)] = (time.monotonic() + ttl_seconds, body)
        self._bodies.move_to_end((generation, name))
        while len(self._bodies) > self.size:
            self._bodies.popitem(last=False)


# One per process: generations are random and never reused, so apps of several test
# sessions sharing a process (and a Valkey) cannot read each other's stale bodies.
_local = LocalBodies()


class CatalogCache:
    def __init__(self, cache: Cache, *, ttl_seconds: int, local: LocalBodies = _local) -> None:
        self.cache = cache
        self.ttl_seconds = ttl_seconds
        self.local = local

    async def through(self, name: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached body for `name`, or `load()`'s, cached for next time.

        Valkey being down slows reads (every one goes to Postgres) but never fails them.
        """
        try:
            generation = await self.generation()
            if (held := self.local.get(generation, name)) is not None:
                self.cache.record(CACHE_NAME, hit=True)
                return held
            key = self.cache.key(generation, name)
            cached = await self._get(key)
        except RedisError as error:
            _log.warning("cache unavailable on read", error=str(error))
            self.cache.record(CACHE_NAME, hit=False)
            return await load()
        self.cache.record(CACHE_NAME, hit=cached is not None)
        if cached is not None:
            self.local.put(generation, name, cached, self.ttl_seconds)
            return cached
        body = await load()
        try:
            await self.cache.client.set(key, body, ex=self.ttl_seconds)
        except RedisError as error:
            _log.warning("cache unavailable on fill", error=str(error))
            return body
        self.local.put(generation, name, body, self.ttl_seconds)
        return body

    async def version(self) -> str | None:
        """The current generation as a version callers may hold a body under (an ETag), or
        None while Valkey is unavailable (then there is nothing to revalidate against)."""
        try:
            return await self.generation()
        except RedisError as error:
            _log.warning("cache unavailable on read", error=str(error))
            return None

    async def generation(self) -> str:
        client = self.cache.client
        key = self.cache.key(GENERATION_KEY)
        current = await self._get(key)
        if current is None:
            # First read after a start or a loss: whoever sets it first wins, all agree.
            await client.set(key, _new_generation(), nx=True)
            current = await self._get(key)
            if current is None:  # pragma: no cover - deleted between the two calls
                raise RedisError("the cache generation vanished")
        return current.decode()

    async def _get(self, key: str) -> bytes | None:
        value = await self.cache.client.get(key)
        # The chassis' client leaves responses undecoded, so this is bytes; typed loosely.
        return value.encode() if isinstance(value, str) else value

    async def invalidate(self) -> None:
        """Retire every cached read, or raise `InvalidationFailed`."""
        try:
            await self.cache.client.set(self.cache.key(GENERATION_KEY), _new_generation())
        except RedisError as error:
            _log.error("cache unavailable on invalidation", error=str(error))
            raise InvalidationFailed from error


class InvalidationFailed(Exception):
    """A write was committed but cached reads could not be retired: they may show the old
    product until their TTL. Repeating the (idempotent) write retires them."""


def _new_generation() -> str:
    return secrets.token_hex(8)
