"""The Valkey keys a service must not lose, to a file and back, exactly (DUMP/RESTORE).

What is kept, per service (docs/architecture.md, "Backups: what is kept"): the keys of its
own user (`<service>:*`: frontend's sessions, accounts' sign-in limiter and session cache)
unless the service only caches there, and the event streams it produces (`events:<service>`
and its dead letters `events:<service>:dead`) with their consumer groups. DUMP serializes a
stream with its groups, their last-delivered ids and pending entries (Valkey 7+), and
RESTORE ... ABSTTL puts a key back with the same expiry instant. Keys are read one by one,
so the file is not one instant of the whole server, but each key is whole.
"""

import base64
import json
import time
from pathlib import Path

import redis.asyncio as aioredis

from mosaic.backing.provision import dead_letter_key, stream_key
from mosaic.services import Service

# Services whose Valkey keys are only a cache, rebuilt from Postgres on demand: not kept.
CACHE_ONLY = frozenset({"catalog"})


def patterns(service: Service) -> tuple[list[str], list[str]]:
    """(SCAN patterns, exact keys) of what is kept for the service."""
    scans = [f"{service.name}:*"] if "valkey" in service.backing else []
    if service.name in CACHE_ONLY:
        scans = []
    exact = [stream_key(service.name), dead_letter_key(service.name)]
    return scans, exact if "broker" in service.backing else []


def keeps_valkey(service: Service) -> bool:
    scans, exact = patterns(service)
    return bool(scans or exact)


async def server_version(admin_url: str) -> str:
    client = aioredis.Redis.from_url(admin_url, socket_connect_timeout=10, decode_responses=True)
    try:
        info = await client.info("server")
    finally:
        await client.aclose()
    return f"valkey {info.get('valkey_version') or info.get('redis_version')}"


async def dump(admin_url: str, service: Service, out: Path) -> int:
    """Write the service's kept keys to `out`, one JSON line each; how many."""
    client = aioredis.Redis.from_url(admin_url, socket_connect_timeout=10)
    count = 0
    try:
        with out.open("w") as file:
            for key in await _kept_keys(client, service):
                payload = await client.dump(key)
                if payload is None:  # absent, or expired since the scan
                    continue
                pttl = await client.pttl(key)
                expires = int(time.time() * 1000) + pttl if pttl > 0 else 0
                line = {"key": _b64(key), "expires_ms": expires, "dump": _b64(bytes(payload))}
                file.write(json.dumps(line) + "\n")
                count += 1
    finally:
        await client.aclose()
    return count


async def clear(admin_url: str, service: Service) -> None:
    """Delete the keys `dump` would keep (before restoring over a used server)."""
    client = aioredis.Redis.from_url(admin_url, socket_connect_timeout=10)
    try:
        if keys := await _kept_keys(client, service):
            await client.delete(*keys)
    finally:
        await client.aclose()


async def restore(admin_url: str, path: Path) -> int:
    """RESTORE every key of the file (replacing one of the same name); how many. A key whose
    expiry has passed since the backup is skipped, as the server would have dropped it."""
    client = aioredis.Redis.from_url(admin_url, socket_connect_timeout=10)
    count = 0
    try:
        with path.open() as file:
            for text in file:
                line = json.loads(text)
                expires = int(line["expires_ms"])
                if expires and expires <= time.time() * 1000:
                    continue
                key, payload = base64.b64decode(line["key"]), base64.b64decode(line["dump"])
                await client.restore(key, expires, payload, replace=True, absttl=bool(expires))
                count += 1
    finally:
        await client.aclose()
    return count


async def _kept_keys(client: aioredis.Redis, service: Service) -> list[bytes]:
    """The names of the service's kept keys (the exact ones whether they exist or not)."""
    scans, exact = patterns(service)
    keys = [k.encode() for k in exact]
    for pattern in scans:
        keys += [k async for k in client.scan_iter(match=pattern, count=1000)]
    return list(dict.fromkeys(keys))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
