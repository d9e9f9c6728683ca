"""`mosaic admin provision`: each service's role, database and ACL users on servers reached
by admin URLs, and the files a container deployment mounts.

Per service, in the output folder: `<service>.env` (VARIABLE=value lines, for compose's
`env_file`) and `<service>/<VARIABLE>` (one secret per file, for compose `secrets:` or a
Kubernetes Secret volume). Passwords live in `secrets.json` there: a second run reuses
them, so it converges the servers and rewrites the same files.
"""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as aioredis
import redis.exceptions

from mosaic.backing.secrets import Secrets, read_secret_file
from mosaic.backing.service_secrets import AdminUrls, provision_service
from mosaic.errors import MosaicError, UsageError
from mosaic.memorystore import flags_file
from mosaic.pki.files import write_atomically
from mosaic.services import Service


def chosen_services(known: list[Service], names: list[str]) -> list[Service]:
    """The services named (all with something to provision when none is)."""
    if not names:
        return [s for s in known if s.backing - {"smtp"} or s.edge]
    by_name = {s.name: s for s in known}
    if unknown := [n for n in names if n not in by_name]:
        raise UsageError(
            f"no service named {', '.join(unknown)}",
            f"Services here: {', '.join(sorted(by_name))}.",
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def url_from_options(url: str | None, url_file: Path | None, option: str) -> str | None:
    """The admin URL given as `option` or in the file of `option`-file (stripped)."""
    if url_file is None:
        return url
    if url is not None:
        raise UsageError(f"give {option} or {option}-file, not both")
    return read_secret_file(url_file, f"{option}-file")


# A server that is still starting (compose starts provisioning beside Postgres' initdb):
# no listener yet, no DNS name yet, or "the database system is starting up".
_NOT_YET = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
)
PROGRESS_EVERY = 5.0  # seconds between "still waiting" lines


async def wait_for_servers(admin: AdminUrls, seconds: float, echo: Callable[[str], None]) -> None:
    """Return once each admin URL's server accepts connections, at most `seconds` later.

    Only a server that is not there yet is waited for: one that answers (even to refuse the
    password) is left to provisioning, which says what is wrong with it.
    """
    if seconds <= 0:
        return
    if admin.postgres is not None:
        await _wait_for(admin.postgres, _postgres_answers, seconds, echo)
    if admin.valkey is not None:
        await _wait_for(admin.valkey, _valkey_answers, seconds, echo)


async def _wait_for(
    url: str,
    answers: Callable[[str], Awaitable[None]],
    seconds: float,
    echo: Callable[[str], None],
) -> None:
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.hostname}:{parts.port}"  # never the password
    loop = asyncio.get_running_loop()
    began = loop.time()
    said = began - PROGRESS_EVERY
    while True:
        try:
            await answers(url)
            return
        except _NOT_YET as error:
            waited = loop.time() - began
            if waited >= seconds:
                raise MosaicError(
                    f"{where} did not accept connections within {seconds:g} s: {error}",
                    "Check that the server runs and that the URL's host and port are "
                    "where it listens.",
                ) from None
            if loop.time() - said >= PROGRESS_EVERY:
                echo(f"waiting for {where} to accept connections ({waited:.0f} s of {seconds:g})")
                said = loop.time()
        except Exception:  # it answered: provisioning reports what it said
            return
        await asyncio.sleep(min(0.5, max(0.0, began + seconds - loop.time())))


async def _postgres_answers(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    await conn.close()


async def _valkey_answers(url: str) -> None:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


def prepare_folder(out: Path) -> Secrets:
    """The output folder (created its owner's only; an existing one keeps its mode: the
    files in it are 0600 anyway), and the passwords kept in it."""
    if not out.exists():
        out.mkdir(parents=True)
        out.chmod(0o700)
    return Secrets(out / "secrets.json")


async def provision_all(
    services: list[Service],
    admin: AdminUrls,
    out: Path,
    echo: Callable[[str], None],
    passwords: Path | None = None,
) -> None:
    """Provision each service; passwords from `passwords` when given (only read: a missing
    one is an error), else from `out`/secrets.json (made on first use)."""
    secrets = prepare_folder(out)
    if passwords is not None:
        secrets = Secrets(passwords, fixed=True)
    for service in services:
        values = await provision_service(service, admin, secrets, note=echo)
        if values:
            echo(f"{service.name}: wrote {write_service_files(out, service.name, values)}")
        else:
            echo(f"{service.name}: uses no backing service, nothing to write")
    if admin.valkey_external:
        # The users it did not make, as the ACL policy that makes them (with these passwords).
        policy = out / VALKEY_ACL_POLICY
        write_atomically(policy, flags_file(services, secrets).encode(), private=True)
        echo(f"Valkey users are managed outside: their Memorystore ACL policy is in {policy}")


VALKEY_ACL_POLICY = "valkey-acl-policy.yaml"  # a gcloud --flags-file (mosaic.memorystore)


def write_service_files(out: Path, service: str, values: dict[str, str]) -> str:
    """`<service>.env` and `<service>/<VARIABLE>`, each 0600 and replaced atomically."""
    env_file = out / f"{service}.env"
    env_text = "".join(f"{k}={v}\n" for k, v in sorted(values.items()))
    write_atomically(env_file, env_text.encode(), private=True)
    folder = out / service
    folder.mkdir(mode=0o700, exist_ok=True)
    for variable, value in values.items():
        write_atomically(folder / variable, value.encode(), private=True)
    return f"{env_file} and {folder}/{{{','.join(sorted(values))}}}"
