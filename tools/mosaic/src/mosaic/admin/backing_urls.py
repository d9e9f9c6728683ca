"""The admin URLs of a home's Postgres and Valkey for `mosaic admin backup`/`restore`: given
(a compose or Kubernetes deployment), the running `mosaic up`'s (its state file and
secrets.json), or the embedded servers started here for the command's length when nothing
runs on the home."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mosaic.backing.postgres import EmbeddedPostgres
from mosaic.backing.secrets import Secrets
from mosaic.backing.servers import BackingServers
from mosaic.backing.valkey import admin_url as valkey_admin_url
from mosaic.errors import MosaicError
from mosaic.state import read_state, runner_pid


@dataclass(frozen=True)
class ServerUrls:
    postgres: str
    valkey: str


def running_urls(home: Path) -> ServerUrls | None:
    """The admin URLs of the embedded servers of the `mosaic up` running on home, if any."""
    if runner_pid(home) is None:
        return None
    ports = {p.get("name"): p.get("port") for p in (read_state(home) or {}).get("processes", [])}
    if not ports.get("postgres") or not ports.get("valkey"):
        raise MosaicError(
            f"the mosaic up on {home} runs no embedded Postgres and Valkey (external servers?)",
            "Give their admin URLs: --postgres-admin-url and --valkey-admin-url.",
        )
    secrets = Secrets(home / "secrets.json")
    postgres = EmbeddedPostgres(
        home / "postgres", secrets.password("postgres/admin"), port=int(ports["postgres"])
    )
    valkey = valkey_admin_url(secrets.password("valkey/admin"), int(ports["valkey"]))
    return ServerUrls(postgres.admin_url, valkey)


@contextmanager
def home_servers(home: Path) -> Iterator[ServerUrls]:
    """The home's embedded servers, started for the length of the block (initdb'd first on
    a home never started, as `mosaic up` would)."""
    with BackingServers(home) as servers:
        yield ServerUrls(servers.admin_database_url, servers.admin_redis_url)


def has_data(home: Path) -> bool:
    """Whether the home's servers ever held data (a cluster or a Valkey data file)."""
    valkey = home / "valkey"
    files = [*valkey.glob("*.rdb"), *valkey.glob("appendonlydir/*")] if valkey.is_dir() else []
    return (home / "postgres" / "PG_VERSION").exists() or bool(files)
