"""`mosaic admin verify-backup` and `mosaic admin restore`.

Everything about the backup is checked before anything is touched (backup_manifest.problems):
a damaged, truncated or unknown-schema backup leaves the target as it was. The target is a
home never started (restored into as `mosaic up` would provision it) or, with force, the
current one, whose services' databases are dropped and made again and whose kept Valkey
keys are replaced. Never while `mosaic up` runs on the home: one rule, no half-stopped shop.
"""

from collections.abc import Callable
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from mosaic.admin import backup_postgres, backup_valkey
from mosaic.admin.backing_urls import ServerUrls
from mosaic.admin.backup_manifest import (
    Manifest,
    dump_file,
    keys_file,
    problems,
    read_manifest,
)
from mosaic.admin.schema_history import known_revisions
from mosaic.backing.secrets import Secrets
from mosaic.backing.service_secrets import AdminUrls, provision_service
from mosaic.errors import MosaicError, UsageError
from mosaic.services import Service

Step = Callable[[str], None]


def check_backup(
    folder: Path, known: list[Service], only: list[str] | None = None
) -> tuple[Manifest | None, list[str]]:
    """The backup's manifest and every problem found, one line each (none: restorable)."""
    try:
        manifest = read_manifest(folder)
    except ValueError as error:
        return None, [str(error)]
    by_name = {s.name: s for s in known}
    histories = {name: known_revisions(s) for name, s in by_name.items()}
    found = problems(folder, manifest, histories, backup_postgres.read_whole, only)
    strangers = [n for n in (only or manifest.services) if n not in by_name]
    found += [f"{n}: no such service in this code" for n in strangers]
    return manifest, found


def verified(folder: Path, known: list[Service], only: list[str] | None) -> Manifest:
    """The manifest of a backup that passes every check; else an error naming the first
    problem (and how many more)."""
    manifest, found = check_backup(folder, known, only)
    if found or manifest is None:
        more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
        raise MosaicError(
            f"refusing to restore: {found[0]}{more}",
            f"Nothing was changed. `mosaic admin verify-backup {folder}` lists every problem.",
        )
    return manifest


async def restore_backup(
    urls: ServerUrls,
    secrets: Secrets,
    folder: Path,
    services: list[Service],
    *,
    force: bool,
    step: Step = lambda _: None,
) -> None:
    """Restore `services` (all verified before) from `folder` onto the servers of `urls`."""
    manifest = read_manifest(folder)
    if busy := await _connected(urls.postgres, [s.name for s in services]):
        raise MosaicError(
            f"refusing to restore: {busy} connected to the databases being restored",
            "Stop the services of those databases first (`mosaic down`, compose stop, "
            "scale to 0); nothing was changed.",
        )
    if not force and (used := await _holding_data(urls, services)):
        raise UsageError(
            f"the target already holds data of {', '.join(used)}",
            "Restore into a new MOSAIC_HOME, or add --force to replace that data.",
        )
    admin = AdminUrls(postgres=urls.postgres, valkey=urls.valkey)
    for service in services:
        files = manifest.services[service.name].files
        dump = folder / dump_file(service.name)
        if dump.name in files:
            step(f"{service.name}: pg_restore")
            await backup_postgres.drop_database(urls.postgres, service.name)
            await provision_service(service, admin, secrets)  # as `mosaic up` would
            backup_postgres.restore(urls.postgres, service.name, dump)
        keys = folder / keys_file(service.name)
        if keys.name in files:
            step(f"{service.name}: Valkey keys")
            await backup_valkey.clear(urls.valkey, service)
            await backup_valkey.restore(urls.valkey, keys)


async def _connected(admin_url: str, databases: list[str]) -> str | None:
    """Who else is connected to the databases, e.g. "2 session(s) of orders", or None."""
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT datname, count(*) FROM pg_stat_activity"
            " WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid() GROUP BY datname",
            databases,
        )
    finally:
        await conn.close()
    found = sorted((str(row[0]), int(row[1])) for row in rows)
    return ", ".join(f"{n} session(s) of {d}" for d, n in found) or None


async def _holding_data(urls: ServerUrls, services: list[Service]) -> list[str]:
    """The services whose database has a table or whose kept Valkey keys exist."""
    used = []
    conn = await asyncpg.connect(urls.postgres, timeout=10)
    client = aioredis.Redis.from_url(urls.valkey, socket_connect_timeout=10)
    try:
        for service in services:
            scans, exact = backup_valkey.patterns(service)
            keys = bool(exact) and bool(await client.exists(*exact))
            for pattern in scans:
                async for _ in client.scan_iter(match=pattern):
                    keys = True
                    break
            if keys or await _has_tables(conn, urls.postgres, service.name):
                used.append(service.name)
    finally:
        await conn.close()
        await client.aclose()
    return used


async def _has_tables(conn: asyncpg.Connection, admin_url: str, database: str) -> bool:
    if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
        return False
    url = backup_postgres.database_url(admin_url, database)
    other = await asyncpg.connect(url, timeout=10)
    try:
        return bool(await other.fetchval(backup_postgres.ANY_TABLE))
    finally:
        await other.close()
