"""The release phase: a service's one-off `release:` process, run to completion before its
other processes start (migrations, seed data).

A release that is only `alembic upgrade head` is skipped when its database is already at
the head of the service's migrations: that is most starts, and each release process costs
about 1.4 s of CPU to import SQLAlchemy and Alembic only to find nothing to do. The runner
decides with one query (`alembic_version` against the heads read from the script files'
`revision`/`down_revision` lines, without importing them); whenever it cannot tell (another
release line, an Alembic layout it does not read, no table, a different revision), the
release runs as before, and Alembic decides.
"""

import asyncio
import configparser
from collections import deque
from pathlib import Path

import asyncpg

from mosaic.admin.schema_history import literals
from mosaic.children import Command, spawn, terminate
from mosaic.errors import MosaicError
from mosaic.logs import LINE_LIMIT, LogStream

ALEMBIC_UPGRADE = "alembic upgrade head"  # the only release line the runner may skip


async def run_release(service: str, command: Command, logs: LogStream) -> None:
    """Run it with its output streamed as `<service>.release`; raise if it fails."""
    name = f"{service}.release"
    tail: deque[str] = deque(maxlen=40)
    process = await spawn(command, LINE_LIMIT)
    assert process.stdout is not None
    pump = asyncio.create_task(logs.pump(name, process.stdout, tail))
    try:
        code = await process.wait()
        await pump
    except asyncio.CancelledError:  # `up` is stopping: stop the release too
        await asyncio.shield(terminate(process, command, command.grace_seconds))
        raise
    if code != 0:
        raise MosaicError(
            f"the release phase of {service} failed (exit code {code}); its last output:",
            f"Fix it (the `release:` line of {Path(command.cwd or '.') / 'Procfile'}), "
            "then run `mosaic up` again.",
            output="\n".join(tail) or "(no output)",
        )


async def at_head(release: str, folder: Path, database_url: str | None) -> frozenset[str]:
    """The heads the database is already at when `release` has nothing to do; empty when
    the release must run (or the runner cannot tell)."""
    if release.split() != ALEMBIC_UPGRADE.split() or database_url is None:
        return frozenset()
    heads = script_heads(folder)
    if not heads:
        return frozenset()
    return heads if await database_revisions(database_url) == heads else frozenset()


def script_heads(folder: Path) -> frozenset[str]:
    """The head revisions of the Alembic scripts of `folder` (its alembic.ini), read from
    the files' literal `revision` and `down_revision`; empty when any is not a literal."""
    folder = folder.resolve()  # Alembic's %(here)s; a relative location is from here too
    parser = configparser.ConfigParser(defaults={"here": str(folder)})
    if not parser.read(folder / "alembic.ini") or not parser.has_section("alembic"):
        return frozenset()
    section = parser["alembic"]
    if "version_locations" in section or "script_location" not in section:
        return frozenset()  # a layout this reader does not follow: let Alembic decide
    versions = (folder / section["script_location"]) / "versions"
    revisions: set[str] = set()
    replaced: set[str] = set()
    for script in sorted(versions.glob("*.py")):
        found = literals(script, ("revision", "down_revision"))
        revision, down = found.get("revision"), found.get("down_revision", ...)
        if not isinstance(revision, str) or down is ...:
            return frozenset()
        revisions.add(revision)
        if isinstance(down, str):
            replaced.add(down)
        elif isinstance(down, tuple | list):
            replaced.update(str(d) for d in down)
        elif down is not None:
            return frozenset()
    return frozenset(revisions - replaced)


async def database_revisions(database_url: str) -> frozenset[str]:
    """What `alembic_version` holds in the database; empty when it has no such table."""
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        if not await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
            return frozenset()
        rows = await connection.fetch("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    return frozenset(row["version_num"] for row in rows)
