"""One aiohttp session (connection pool) per process, shared by every `ServiceClient` so TCP
and TLS connections are reused across callees' replicas; reference-counted by open clients."""

from __future__ import annotations

import aiohttp
import orjson

from chassis import metrics

_session: aiohttp.ClientSession | None = None
_users = 0


def shared_session() -> aiohttp.ClientSession:
    global _session, _users
    if _session is None or _session.closed:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=30)
        _session = aiohttp.ClientSession(
            connector=connector,
            json_serialize=lambda data: orjson.dumps(data).decode(),
            auto_decompress=True,
        )
        metrics.watch(_session, _count_connections(connector, metrics.service.get()), every=0)
    _users += 1
    return _session


def _count_connections(connector: aiohttp.TCPConnector, service: str) -> metrics.Probe:
    """The pool's connections in use and idle, from aiohttp's own bookkeeping (`_acquired`,
    `_conns`: aiohttp 3 has no public count)."""

    async def count() -> None:
        in_use = len(getattr(connector, "_acquired", ()))
        idle = sum(len(held) for held in getattr(connector, "_conns", {}).values())
        metrics.http_client_pool.labels(service, "in_use").set(in_use)
        metrics.http_client_pool.labels(service, "idle").set(idle)

    return count


async def release_shared_session() -> None:
    global _session, _users
    _users = max(_users - 1, 0)
    if _users == 0 and _session is not None:
        metrics.unwatch(_session)
        await _session.close()
        _session = None
