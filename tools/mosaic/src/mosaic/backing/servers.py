"""Embedded Postgres and Valkey under one directory, started and stopped synchronously, with
per-service provisioning on demand: what test fixtures and small scripts need.

The runner (`mosaic up`) uses the same server classes but supervises them itself.
"""

import asyncio
import subprocess
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from mosaic.backing.postgres import EmbeddedPostgres
from mosaic.backing.provision import provision_broker, provision_postgres, provision_valkey
from mosaic.backing.secrets import Secrets
from mosaic.backing.valkey import EmbeddedValkey
from mosaic.children import Command, popen_kwargs, stop_sync
from mosaic.errors import MosaicError

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class BackingServers:
    """A Postgres and a Valkey on free loopback ports, data kept in `home` across restarts."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.secrets = Secrets(home / "secrets.json")
        self.postgres = EmbeddedPostgres(home / "postgres", self.secrets.password("postgres/admin"))
        self.valkey = EmbeddedValkey(home / "valkey", self.secrets.password("valkey/admin"))
        self._running: list[tuple[subprocess.Popen[bytes], Command]] = []
        self._urls: dict[str, str] = {}

    @property
    def admin_database_url(self) -> str:
        return self.postgres.admin_url

    @property
    def admin_redis_url(self) -> str:
        return self.valkey.admin_url

    def database_url(self, service: str) -> str:
        """DATABASE_URL of `service`, provisioned on first use."""
        key = f"postgres/{service}"
        if key not in self._urls:
            coro = provision_postgres(self.admin_database_url, service, self.secrets.password(key))
            self._urls[key] = _run(coro)
        return self._urls[key]

    def redis_url(self, service: str) -> str:
        """REDIS_URL of `service`, provisioned on first use."""
        key = f"valkey/{service}"
        if key not in self._urls:
            coro = provision_valkey(self.admin_redis_url, service, self.secrets.password(key))
            self._urls[key] = _run(coro)
        return self._urls[key]

    def broker_url(self, service: str, consumes: tuple[str, ...] | list[str] = ()) -> str:
        """BROKER_URL of `service` (publishing to events:<service>, consuming the streams
        of `consumes`), provisioned on first use."""
        key = f"broker/{service}"
        cache_key = f"{key}/{','.join(sorted(consumes))}"
        if cache_key not in self._urls:
            coro = provision_broker(
                self.admin_redis_url, service, self.secrets.password(key), tuple(consumes)
            )
            self._urls[cache_key] = _run(coro)
        return self._urls[cache_key]

    def start(self, timeout: float = 60.0) -> Self:
        """Start both servers and return once both answer; stop them again on failure."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._urls.clear()
        try:
            self.valkey.prepare()
            # Spawned from this thread, which lives on: a child's parent-death signal fires
            # when the spawning *thread* ends, so never spawn from a worker thread.
            valkey = self._spawn(self.valkey.command(), "valkey.log")
            self.postgres.prepare()  # initdb on first use, while Valkey starts
            postgres = self._spawn(self.postgres.command(), "postgres.log")
            _run(self._wait_ready(postgres, valkey, timeout))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers gracefully (Postgres fast shutdown, Valkey saves)."""
        while self._running:
            process, command = self._running.pop()
            stop_sync(process.pid, command, process.poll)

    def __enter__(self) -> Self:
        return self if self._running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, command: Command, log_name: str) -> subprocess.Popen[bytes]:
        with (self.home / log_name).open("ab") as log:
            process = subprocess.Popen(
                command.argv, stdout=log, stderr=subprocess.STDOUT, **popen_kwargs(command)
            )
        self._running.append((process, command))
        return process

    async def _wait_ready(
        self, postgres: subprocess.Popen[bytes], valkey: subprocess.Popen[bytes], timeout: float
    ) -> None:
        try:
            await asyncio.gather(
                self.postgres.wait_ready(timeout, lambda: postgres.poll() is None),
                self.valkey.wait_ready(timeout, lambda: valkey.poll() is None),
            )
        except MosaicError as error:
            error.hint = f"See the server logs in {self.home}."
            raise
