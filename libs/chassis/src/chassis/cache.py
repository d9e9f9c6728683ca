"""Valkey/Redis through redis-py's asyncio client (cache, sessions, locks)."""

from __future__ import annotations

from redis.asyncio import Redis


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

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RuntimeError("Cache is not open; it opens in the app's lifespan")
        return self._client

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def open(self) -> None:
        if self._client is None:
            self._client = Redis.from_url(
                self.url,
                max_connections=self.max_connections,
                socket_connect_timeout=2,
                socket_timeout=2,
                health_check_interval=30,
            )

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
