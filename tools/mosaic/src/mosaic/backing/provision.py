"""Give one service its own Postgres role and database, and its own Valkey ACL user.

Idempotent and run on every start: it converges a server (ours or an external one reached by
an admin URL) to the stored passwords and the isolation rules, whatever state it was in.
"""

import contextlib
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis
import redis.exceptions

from mosaic.errors import MosaicError

# Names become SQL identifiers and Valkey key patterns; nothing in them may be a wildcard.
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Shared databases that every role may open by default.
_SHARED_DATABASES = ("postgres", "template1")
# One lock id for all Mosaic provisioning, so concurrent runs do not race on CREATE ROLE.
_ADVISORY_LOCK = 0x6D6F73616963


def check_service_name(service: str) -> None:
    if not _SERVICE_NAME.match(service):
        raise MosaicError(
            f"{service!r} is not a valid service name",
            "Use lower-case letters, digits and underscores, starting with a letter.",
        )


async def provision_postgres(admin_url: str, service: str, password: str) -> str:
    """Ensure role and database `service`, reachable only by that role; return its URL."""
    check_service_name(service)
    role = _identifier(service)
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK)
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", service)
        verb = "ALTER" if exists else "CREATE"
        await conn.execute(
            f"{verb} ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"PASSWORD {_literal(password)}"
        )
        if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            # A managed server's admin is no superuser; it may only hand a database to a
            # role it is a member of.
            await conn.execute(f"GRANT {role} TO current_user")
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", service):
            await conn.execute(f"ALTER DATABASE {role} OWNER TO {role}")
        else:
            await conn.execute(f"CREATE DATABASE {role} OWNER {role}")
        await conn.execute(f"REVOKE ALL ON DATABASE {role} FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {role} TO {role}")
        for shared in _SHARED_DATABASES:
            # On an external server whose admin does not own these, their owner decides.
            with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"REVOKE CONNECT ON DATABASE {_identifier(shared)} FROM PUBLIC")
    finally:
        await conn.close()  # also releases the advisory lock
    return with_credentials(admin_url, service, password, path=f"/{service}")


# What a service's REDIS_URL user may run: an allowlist, because Valkey's key patterns do
# not filter what a command *reveals*: SCAN, KEYS and RANDOMKEY list every key name whatever
# `~service:*` says, CLIENT LIST/INFO and MONITOR show other clients, SLOWLOG shows their
# arguments, SORT ... BY/GET and OBJECT/MEMORY/DEBUG probe keys by name, and FUNCTION/FCALL
# would run code loaded by another user. Allowed: commands on named keys of the data types
# the services use (strings, hashes, sorted sets), key lifetimes, transactions, EVAL (the
# limiter's script; every call a script makes is checked against this same list, so a
# script cannot SCAN either), and pub/sub on the service's own channels. What the services
# call is in chassis.cache's users (catalog/cache.py, frontend/web/sessions.py,
# accounts/limits.py and session_cache.py); a command missing here fails there with NOPERM.
CACHE_CATEGORIES: tuple[str, ...] = ("+@string", "+@hash", "+@sortedset")
CACHE_COMMANDS: tuple[str, ...] = (
    "-sort",  # in @sortedset; its BY/GET patterns read other keys by name
    "-sort_ro",
    *("+del", "+unlink", "+exists", "+type", "+touch"),
    *("+expire", "+pexpire", "+expireat", "+pexpireat", "+persist", "+ttl", "+pttl"),
    *("+multi", "+exec", "+discard", "+watch", "+unwatch"),
    *("+eval", "+eval_ro", "+evalsha", "+evalsha_ro", "+script|load", "+script|exists"),
    "+time",  # the limiter's clock
    *("+subscribe", "+unsubscribe", "+publish"),
    # What redis-py sends on connect (AUTH, HELLO, CLIENT SETINFO) and readiness (PING).
    *("+auth", "+hello", "+client|setinfo", "+ping", "+echo", "+reset", "+quit"),
)


@dataclass(frozen=True)
class ValkeyUser:
    """One ACL user of a service, as its rule in Valkey's ACL syntax: what `ACL SETUSER NAME
    reset ...` sets on our own Valkey and what a Memorystore ACL policy sets there (its
    rules are "directly set on the Valkey OSS"), so both come from here."""

    name: str
    rule: tuple[str, ...]
    about: str  # what provisioning says it makes

    def text(self) -> str:
        """The rule as one string (an ACL policy's `rule`)."""
        return " ".join(self.rule)


def cache_acl(service: str, password: str) -> ValkeyUser:
    """The REDIS_URL user: keys and channels `service:*`, only the commands in
    CACHE_CATEGORIES and CACHE_COMMANDS (nothing that lists key names, inspects other
    clients or runs another user's code; see above)."""
    check_service_name(service)
    rule = ("on", f">{password}", *CACHE_CATEGORIES, *CACHE_COMMANDS)
    rule += (f"~{service}:*", f"&{service}:*")
    return ValkeyUser(service, rule, f"Valkey user {service!r}, keys and channels {service}:*")


async def provision_valkey(admin_url: str, service: str, password: str) -> str:
    """Ensure ACL user `service` (cache_acl); return its URL."""
    await set_acl_user(admin_url, cache_acl(service, password))
    return with_credentials(admin_url, service, password, path=None)


async def set_acl_user(admin_url: str, user: ValkeyUser) -> None:
    """`ACL SETUSER` the user on the server of `admin_url`, from `reset` (off, no passwords,
    keys, channels or commands): it converges whatever the user was."""
    client = aioredis.Redis.from_url(admin_url, socket_connect_timeout=10)
    try:
        # The rule's own words, not acl_setuser's keywords: the same text an ACL policy holds.
        setuser = ("ACL", "SETUSER", user.name, "reset", *user.rule)
        await client.execute_command(*setuser)  # type: ignore[no-untyped-call]
        await _save_acl(client)
    finally:
        await client.aclose()


# What chassis.events needs, and nothing more: a producer appends to its own stream and
# trims what every group has acknowledged (XINFO GROUPS, XPENDING's summary, XTRIM; it
# reads no entry); a consumer works its group on the streams it consumes (XREADGROUP reads
# only through a group; XPENDING counts deliveries; no XRANGE/XREAD, no XDEL/DEL, no XGROUP
# DESTROY/SETID) and appends what it cannot handle to the producer's dead letters. A
# consumer's metrics (its group's lag and pending count) come from XINFO GROUPS, which
# answers counters and ids, never an entry.
PUBLISH_COMMANDS: tuple[str, ...] = ("+xadd", "+xinfo|groups", "+xpending", "+xtrim")
CONSUME_COMMANDS: tuple[str, ...] = (
    "+xreadgroup",
    "+xack",
    "+xautoclaim",
    "+xgroup|create",
    "+xpending",
    "+xinfo|groups",
)
DEAD_LETTER_COMMANDS: tuple[str, ...] = ("+xadd",)


def broker_user(service: str) -> str:
    """The Valkey user behind a service's BROKER_URL; '.' is in no service name, so it
    never meets a REDIS_URL user."""
    return f"broker.{service}"


def stream_key(service: str) -> str:
    return f"events:{service}"


def dead_letter_key(service: str) -> str:
    """Where consumers of the service's events put those they cannot handle."""
    return f"events:{service}:dead"


def broker_acl(service: str, password: str, consumes: tuple[str, ...] = ()) -> ValkeyUser:
    """The BROKER_URL user.

    ACL selectors (Valkey 7+) tie each command set to its keys: XADD and trimming on
    events:<service> only; the consumer-group commands on events:<producer> of each
    consumed producer only, and XADD on its dead letters, events:<producer>:dead.
    Outside them only PING (readiness) and CLIENT SETINFO (sent by redis-py on connect).
    """
    for name in (service, *consumes):
        check_service_name(name)
    streams = [(stream_key(service), PUBLISH_COMMANDS)]
    streams += [(stream_key(p), CONSUME_COMMANDS) for p in sorted(set(consumes))]
    streams += [(dead_letter_key(p), DEAD_LETTER_COMMANDS) for p in sorted(set(consumes))]
    selectors = tuple(f"({command} ~{key})" for key, commands in streams for command in commands)
    rule = ("on", f">{password}", "+ping", "+client|setinfo", *selectors)
    read = f", reading {', '.join(consumes)}" if consumes else ""
    return ValkeyUser(broker_user(service), rule, f"broker user for events:{service}{read}")


async def provision_broker(
    admin_url: str, service: str, password: str, consumes: tuple[str, ...] = ()
) -> str:
    """Ensure the ACL user of the service's BROKER_URL (broker_acl); return that URL."""
    await set_acl_user(admin_url, broker_acl(service, password, consumes))
    return with_credentials(admin_url, broker_user(service), password, path=None)


async def _save_acl(client: aioredis.Redis) -> None:
    try:
        await client.acl_save()
    except redis.exceptions.ResponseError as error:
        # A server without an aclfile keeps the user until it restarts; we provision
        # again on every start anyway.
        if "aclfile" not in str(error).lower().replace(" ", ""):
            raise


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def with_credentials(url: str, user: str, password: str, path: str | None) -> str:
    """The admin URL with the service's credentials (and database), keeping host and options."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path if path is None else path, parts.query, ""))
