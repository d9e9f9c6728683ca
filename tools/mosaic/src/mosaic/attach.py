"""Backing services for `mosaic up`: embedded Postgres and Valkey as supervised children, or
external servers by admin URL; then one role, database and ACL user per service."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from mosaic.backing.postgres import EmbeddedPostgres
from mosaic.backing.secrets import Secrets
from mosaic.backing.service_secrets import AdminUrls, provision_service
from mosaic.backing.valkey import EmbeddedValkey
from mosaic.children import Command
from mosaic.errors import MosaicError
from mosaic.logs import LogStream
from mosaic.services import Service
from mosaic.supervisor import Identity, State, Supervised

SERVER_START_TIMEOUT = 60  # seconds; both start in about one


@dataclass
class Backing:
    """Admin URLs of the servers in use, and the embedded ones we run (stopped last)."""

    home: Path
    logs: LogStream
    on_change: Callable[[], None]
    database_url: str | None = None
    redis_url: str | None = None
    servers: list[Supervised] = field(default_factory=list)

    @property
    def secrets(self) -> Secrets:
        return Secrets(self.home / "secrets.json")

    async def start_embedded(self, postgres: bool, valkey: bool) -> None:
        """Start the embedded servers not replaced by a URL, concurrently."""
        starting = []
        if valkey:
            vk = EmbeddedValkey(self.home / "valkey", self.secrets.password("valkey/admin"))
            vk.prepare()
            starting.append(self._supervise("valkey", vk.command(), vk.ping, vk.port))
            self.redis_url = vk.admin_url
        if postgres:
            pg = EmbeddedPostgres(self.home / "postgres", self.secrets.password("postgres/admin"))
            if not (pg.data_dir / "PG_VERSION").exists():
                self.logs.note("creating the Postgres cluster (first run only)")
            await asyncio.to_thread(pg.prepare)  # initdb, while Valkey starts
            starting.append(self._supervise("postgres", pg.command(), pg.ping, pg.port))
            self.database_url = pg.admin_url
        for supervised in starting:
            try:
                await asyncio.wait_for(supervised.settled.wait(), SERVER_START_TIMEOUT)
            except TimeoutError:
                raise MosaicError(
                    f"{supervised.identity.name} was not ready within {SERVER_START_TIMEOUT} s",
                    "Its output is above.",
                ) from None
            if supervised.state == State.CRASHED:
                raise supervised.failure()
            where = f"127.0.0.1:{supervised.identity.port}"
            self.logs.note(f"{supervised.identity.name} is ready on {where}")

    async def provision(self, service: Service) -> dict[str, str]:
        """The service's own DATABASE_URL / REDIS_URL / BROKER_URL, provisioned, and the
        edge's CSRF_SECRET: the same function as `mosaic admin provision`."""
        admin = AdminUrls(postgres=self.database_url, valkey=self.redis_url)
        return await provision_service(service, admin, self.secrets)

    def _supervise(
        self, name: str, command: Command, ping: Callable[[], Awaitable[bool]], port: int
    ) -> Supervised:
        identity = Identity(name, name, "server", port=port)
        server = Supervised(identity, command, ping, self.logs, self.on_change)
        self.servers.append(server)  # stopped in this order: Postgres last
        server.start()
        return server
