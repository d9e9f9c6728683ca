"""The cache's pool on a real Valkey: more commands in flight than connections wait for
one, rather than failing."""

import asyncio

from chassis.cache import Cache
from mosaic.backing import BackingServers

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
