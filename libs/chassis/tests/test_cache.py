"""The cache's pool on a real Valkey: more commands in flight than connections wait for
one, rather than failing."""

import asyncio

import pytest
from chassis.cache import Cache, reset_aware
from mosaic.backing import BackingServers
from redis.asyncio import Redis
from redis.exceptions import ConnectionError

HELD_SECONDS = 0.3  # how long each command keeps its connection (a BLPOP that times out)


async def test_more_commands_than_connections_wait_for_one(backing: BackingServers) -> None:
    # As the operator: a service's own user may not BLPOP. A leaked connection fails the
    # test (pytest turns the unclosed socket's ResourceWarning into an error).
    cache = Cache(backing.admin_redis_url, prefix="pool-test", max_connections=2)
    await cache.open()
    try:
        key = cache.key("empty-list")
        # Six commands holding a connection each for HELD_SECONDS, two connections: three
        # rounds, well inside the pool's wait. redis-py's default pool fails four of them.
        answers = await asyncio.gather(
            *(cache.client.blpop([key], timeout=HELD_SECONDS) for _ in range(6))
        )
    finally:
        await cache.close()
    assert answers == [None] * 6


class _ClosedWriter:
    """What uvloop's stream writer does once the peer reset the connection."""

    def writelines(self, data: object) -> None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

    async def drain(self) -> None: ...

    def close(self) -> None: ...


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "rediss://127.0.0.1:1/0"])
async def test_a_write_to_a_reset_connection_is_a_connection_error(url: str) -> None:
    """So the command is retried on a new connection, or the caller hears "Valkey is
    away" (a 503), never a RuntimeError (a 500)."""
    client = reset_aware(Redis.from_url(url, socket_timeout=2))
    connection = client.connection_pool.make_connection()
    connection._reader, connection._writer = object(), _ClosedWriter()  # type: ignore[assignment]
    with pytest.raises(ConnectionError, match="writing to socket"):
        await connection.send_packed_command(b"PING\r\n", check_health=False)
    assert not connection.is_connected  # dropped: the next command connects anew
    await client.aclose()
