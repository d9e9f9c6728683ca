"""The embedded backing servers and per-service provisioning, against real servers."""

from collections.abc import Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from mosaic.backing import BackingServers, provision_postgres, provision_valkey
from mosaic.backing.valkey import eviction_warning


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    # Its own servers rather than the shared `backing` fixture: one test restarts them.
    with BackingServers(tmp_path_factory.mktemp("mosaic-backing")) as started:
        yield started


async def test_a_service_uses_its_own_database(servers: BackingServers) -> None:
    conn = await asyncpg.connect(servers.database_url("alpha"))
    try:
        assert await conn.fetchval("SELECT current_database()") == "alpha"
        await conn.execute("CREATE TABLE IF NOT EXISTS things (name text)")
    finally:
        await conn.close()


async def test_a_role_cannot_open_another_services_database(servers: BackingServers) -> None:
    alpha_url = servers.database_url("alpha")
    servers.database_url("beta")
    for other in ("beta", "postgres", "template1"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await asyncpg.connect(alpha_url.rsplit("/", 1)[0] + "/" + other)


async def test_provisioning_is_idempotent(servers: BackingServers) -> None:
    url = servers.database_url("gamma")
    password = servers.secrets.password("postgres/gamma")
    for _ in range(2):
        again = await provision_postgres(servers.admin_database_url, "gamma", password)
        assert again == url
        again = await provision_valkey(servers.admin_redis_url, "gamma", password)
    conn = await asyncpg.connect(url)
    await conn.close()
    client = aioredis.Redis.from_url(again)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_a_valkey_user_only_touches_its_own_keys(servers: BackingServers) -> None:
    servers.redis_url("beta")
    alpha = aioredis.Redis.from_url(servers.redis_url("alpha"))
    try:
        await alpha.set("alpha:x", "1")
        async with alpha.pipeline() as pipe:
            pipe.incr("alpha:n")
            pipe.expire("alpha:n", 60)
            await pipe.execute()
        await alpha.zadd("alpha:z", {"m": 1})
        await alpha.publish("alpha:news", "hello")
        assert await alpha.get("alpha:x") == b"1"
        with pytest.raises(redis.exceptions.NoPermissionError):
            await alpha.get("beta:x")
        with pytest.raises(redis.exceptions.NoPermissionError):
            await alpha.publish("beta:news", "hello")
        with pytest.raises(redis.exceptions.NoPermissionError):
            await alpha.flushall()
        with pytest.raises(redis.exceptions.NoPermissionError):
            await alpha.xadd("alpha:events", {"k": "v"})  # streams: the BROKER_URL user's
    finally:
        await alpha.aclose()


async def test_a_valkey_user_learns_no_key_name_outside_its_prefix(
    servers: BackingServers,
) -> None:
    """Key patterns do not filter what SCAN, KEYS or RANDOMKEY return, nor what CLIENT
    LIST, MONITOR or SLOWLOG show: each such command is refused outright."""
    beta = aioredis.Redis.from_url(servers.redis_url("beta"))
    alpha = aioredis.Redis.from_url(servers.redis_url("alpha"))
    try:
        await beta.set("beta:secret-name", "1")
        await alpha.set("alpha:mine", "1")
        refused = [
            ("SCAN", "0"), ("SCAN", "0", "MATCH", "alpha:*"), ("KEYS", "*"), ("RANDOMKEY",),
            ("DBSIZE",), ("INFO", "keyspace"), ("MONITOR",), ("CLIENT", "LIST"),
            ("CLIENT", "INFO"), ("CLIENT", "KILL", "USER", "beta"),
            ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "beta:"),
            ("OBJECT", "ENCODING", "alpha:mine"), ("MEMORY", "USAGE", "alpha:mine"),
            ("DEBUG", "OBJECT", "alpha:mine"), ("SLOWLOG", "GET"), ("LATENCY", "LATEST"),
            ("SORT", "alpha:list", "BY", "beta:*"), ("SORT_RO", "alpha:list", "GET", "*"),
            ("PUBSUB", "CHANNELS"), ("WAIT", "0", "0"), ("COMMAND", "GETKEYS", "GET", "x"),
            ("FUNCTION", "LIST"), ("FCALL", "f", "0"), ("SCRIPT", "FLUSH"),
            ("EVAL", "return redis.call('SCAN', 0)", "0"),
            ("EVAL", "return redis.call('KEYS', '*')", "0"),
            ("EVAL", "return redis.call('RANDOMKEY')", "0"),
            ("EVAL", "return redis.call('GET', 'beta:secret-name')", "0"),
            ("PSUBSCRIBE", "__key*"), ("SUBSCRIBE", "__keyspace@0__:beta:secret-name"),
        ]  # fmt: skip
        for command in refused:
            # DEBUG is also off in the server's configuration; either refusal will do.
            with pytest.raises(redis.exceptions.ResponseError, match=r"permissions|not allowed"):
                await alpha.execute_command(*command)  # type: ignore[no-untyped-call]
        # What the services do run still works, the limiter's script included.
        script = "redis.call('ZADD', KEYS[1], redis.call('TIME')[1], 'a') return 1"
        assert await alpha.eval(script, 1, "alpha:limit") == 1
    finally:
        await alpha.aclose()
        await beta.aclose()


async def test_the_default_valkey_user_is_off(servers: BackingServers) -> None:
    port = servers.admin_redis_url.rsplit(":", 1)[1].split("/")[0]
    client = aioredis.Redis(host="127.0.0.1", port=int(port))
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            await client.get("alpha:x")
    finally:
        await client.aclose()


def test_passwords_are_private(servers: BackingServers) -> None:
    assert (servers.home / "secrets.json").stat().st_mode & 0o777 == 0o600


async def test_data_survives_a_restart(servers: BackingServers) -> None:
    conn = await asyncpg.connect(servers.database_url("delta"))
    await conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
    await conn.close()
    client = aioredis.Redis.from_url(servers.redis_url("delta"))
    await client.set("delta:kept", "yes")
    async with client.pipeline(transaction=True) as multi:  # replayed from the AOF as EXEC
        multi.set("delta:multi", "yes")
        multi.incr("delta:n")
        await multi.execute()
    await client.aclose()

    servers.stop()
    servers.start()

    conn = await asyncpg.connect(servers.database_url("delta"))
    try:
        assert await conn.fetchval("SELECT v FROM kept") == 42
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(servers.redis_url("delta"))
    try:
        assert await client.get("delta:kept") == b"yes"
        assert await client.get("delta:multi") == b"yes"
    finally:
        await client.aclose()


def test_the_shared_fixture_hands_out_urls(backing: BackingServers) -> None:
    assert backing.database_url("catalog").startswith("postgresql://catalog:")
    assert backing.redis_url("catalog").startswith("redis://catalog:")
    assert backing.admin_database_url.startswith("postgresql://postgres:")


async def test_valkey_is_capped_and_an_evicting_server_is_flagged(
    servers: BackingServers,
) -> None:
    admin = aioredis.Redis.from_url(servers.admin_redis_url, decode_responses=True)
    try:
        config = await admin.config_get("maxmemory*")
        assert config["maxmemory"] == str(256 * 1024 * 1024)
        assert config["maxmemory-policy"] == "noeviction"
        assert await eviction_warning(servers.admin_redis_url) is None

        # An external server attached by URL may evict: `up` says what is at stake.
        await admin.config_set("maxmemory-policy", "volatile-lru")
        warning = await eviction_warning(servers.admin_redis_url)
        assert warning is not None
        assert "sign-in limits" in warning
        assert "streams" not in warning
        await admin.config_set("maxmemory-policy", "allkeys-lru")
        assert "event streams" in str(await eviction_warning(servers.admin_redis_url))
    finally:
        await admin.config_set("maxmemory-policy", "noeviction")
        await admin.aclose()


async def test_postgres_runs_sized_for_a_small_shop(servers: BackingServers) -> None:
    conn = await asyncpg.connect(servers.admin_database_url)
    try:
        shown = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "io_method", "max_logical_replication_workers")
        }
        helpers = await conn.fetch("SELECT backend_type FROM pg_stat_activity")
    finally:
        await conn.close()
    assert shown == {
        "shared_buffers": "32MB",
        "io_method": "sync",
        "max_logical_replication_workers": "0",
    }
    types = {row["backend_type"] for row in helpers}
    assert "io worker" not in types
    assert "logical replication launcher" not in types
