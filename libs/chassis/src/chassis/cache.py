"""Valkey/Redis through redis-py's asyncio client (cache, sessions, locks).

The pool blocks: a command that finds every connection busy waits up to
`POOL_WAIT_SECONDS` for one, rather than failing at once ("Too many connections", what
redis-py's default pool does). A storm of requests beyond the pool (fifty browsers posting
one checkout) then queues for a moment instead of showing some shoppers "try again".

Its pool's connections in use and idle are metrics, read from redis-py's pool when
/metrics is read (its `_in_use_connections` and `_available_connections`: redis-py 8
has no public count); a service's cache counts its hits and misses with `record`.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection, Connection, SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from chassis import metrics

# As long as a command may take (`socket_timeout`): past it, Valkey is away, not busy.
POOL_WAIT_SECONDS = 2


class _ClosedTransportIsConnectionError:
    """A write to a connection the peer has reset raises RuntimeError ("the handler is
    closed") under uvloop, where the standard loop raises an OSError that redis-py turns
    into its ConnectionError; redis-py has dropped the connection by then, but passes the
    RuntimeError on, so callers saw a 500 instead of "Valkey is away" and nothing retried.
    Faults on the Valkey hops under load found it (tests/system/test_hop_faults_under_load.py).
    As a ConnectionError it is retried on a new connection, like any reset."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        try:
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except RuntimeError as error:
            raise RedisConnectionError(f"Error while writing to socket: {error}") from error


class _Plain(_ClosedTransportIsConnectionError, Connection):
    pass


class _Tls(_ClosedTransportIsConnectionError, SSLConnection):
    pass


def reset_aware(client: Redis) -> Redis:
    """`client` with its pool's connections raising ConnectionError on a write to a reset
    connection (see `_ClosedTransportIsConnectionError`); a Unix socket's are left as they
    are. Call before the first command."""
    pool = client.connection_pool
    chosen: dict[type[AbstractConnection], type[AbstractConnection]] = {
        Connection: _Plain,
        SSLConnection: _Tls,
    }
    pool.connection_class = chosen.get(pool.connection_class, pool.connection_class)
    return client


class Cache:
    """One client (connection pool) per process.

    `prefix` is the service's key namespace; the platform's ACL only lets the service
    touch keys under it, so build every key with `key()`.
    """

    name = "valkey"

    def __init__(self, url: str, *, prefix: str, max_connections: int = 50) -> None:
        self.url = url.replace("valkey://", "redis://", 1).replace("valkeys://", "rediss://", 1)
        self.prefix = prefix if prefix.endswith(":") else prefix + ":"
        self.max_connections = max_connections
        self._client: Redis | None = None
        self._service = ""

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RuntimeError("Cache is not open; it opens in the app's lifespan")
        return self._client

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def record(self, cache: str, *, hit: bool) -> None:
        """Count one read of the service's cache `cache` (a fixed name, e.g. "responses")."""
        metrics.cache_requests.labels(self._service, cache, "hit" if hit else "miss").inc()

    async def open(self) -> None:
        if self._client is None:
            pool = BlockingConnectionPool.from_url(
                self.url,
                max_connections=self.max_connections,
                timeout=POOL_WAIT_SECONDS,
                socket_connect_timeout=2,
                socket_timeout=2,
                health_check_interval=30,
            )
            self._client = reset_aware(Redis.from_pool(pool))  # closes the pool with it
            self._service = metrics.service.get()
            metrics.watch(self, self._count_connections, every=0)

    async def ping(self) -> None:
        await self.client.ping()

    async def _count_connections(self) -> None:
        if self._client is not None:
            pool = self._client.connection_pool
            in_use = len(getattr(pool, "_in_use_connections", ()))
            idle = len(getattr(pool, "_available_connections", ()))
            metrics.valkey_pool.labels(self._service, "in_use").set(in_use)
            metrics.valkey_pool.labels(self._service, "idle").set(idle)

    async def close(self) -> None:
        metrics.unwatch(self)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
