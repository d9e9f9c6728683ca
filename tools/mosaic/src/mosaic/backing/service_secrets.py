"""What one service gets from the backing servers: its own DATABASE_URL, REDIS_URL and
BROKER_URL (provisioned through admin URLs) and, for the edge, its CSRF_SECRET.

The one path for every deployment: `mosaic up` calls it for each service it starts, and
`mosaic admin provision` for the secret files that compose or Kubernetes mount. Both read
passwords from a `Secrets` file, so running either again converges the servers to the
same passwords instead of inventing new ones.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.exceptions

from mosaic.backing.provision import (
    broker_user,
    provision_broker,
    provision_postgres,
    provision_valkey,
    with_credentials,
)
from mosaic.backing.secrets import Secrets
from mosaic.errors import MosaicError, UsageError
from mosaic.services import Service

POSTGRES_SCHEMES = ("postgresql", "postgres")
VALKEY_SCHEMES = ("redis", "rediss")


@dataclass(frozen=True)
class AdminUrls:
    """Where to provision (admin URLs), and optionally the host:port the services use
    instead: inside compose the services reach `postgres:5432`, not the admin's 127.0.0.1."""

    postgres: str | None = None
    valkey: str | None = None
    postgres_host: str | None = None
    valkey_host: str | None = None


async def provision_service(
    service: Service,
    admin: AdminUrls,
    secrets: Secrets,
    note: Callable[[str], None] = lambda line: None,
) -> dict[str, str]:
    """The service's own URLs and secrets, by variable name, with the servers converged."""
    name = service.name
    values = service_values(service, admin, secrets)
    if "postgres" in service.backing:
        url = _admin_url(admin.postgres, name, "Postgres", "--postgres-admin-url")
        note(f"{name}: Postgres role and database {name!r}, CONNECT revoked from others")
        await _reaching(url, provision_postgres(url, name, secrets.password(f"postgres/{name}")))
    if "valkey" in service.backing:
        url = _admin_url(admin.valkey, name, "Valkey", "--valkey-admin-url")
        note(f"{name}: Valkey user {name!r}, keys and channels {name}:*")
        await _reaching(url, provision_valkey(url, name, secrets.password(f"valkey/{name}")))
    if "broker" in service.backing:
        url = _admin_url(admin.valkey, name, "Valkey", "--valkey-admin-url")
        read = f", reading {', '.join(service.consumes)}" if service.consumes else ""
        note(f"{name}: broker user for events:{name}{read}")
        password = secrets.password(f"broker/{name}")
        await _reaching(url, provision_broker(url, name, password, service.consumes))
    return values


def service_values(service: Service, admin: AdminUrls, secrets: Secrets) -> dict[str, str]:
    """What provision_service returns for `service`, worked out without connecting: the
    values `mosaic deploy k8s secrets` puts into Secrets before a provisioning Job in the
    cluster makes the servers match them (same passwords, same URLs)."""
    name = service.name
    values: dict[str, str] = {}
    if "postgres" in service.backing:
        url = _admin_url(admin.postgres, name, "Postgres", "--postgres-admin-url")
        password = secrets.password(f"postgres/{name}")
        values["DATABASE_URL"] = _at(url, name, password, f"/{name}", admin.postgres_host)
    if "valkey" in service.backing:
        url = _admin_url(admin.valkey, name, "Valkey", "--valkey-admin-url")
        password = secrets.password(f"valkey/{name}")
        values["REDIS_URL"] = _at(url, name, password, None, admin.valkey_host)
    if "broker" in service.backing:
        url = _admin_url(admin.valkey, name, "Valkey", "--valkey-admin-url")
        password = secrets.password(f"broker/{name}")
        values["BROKER_URL"] = _at(url, broker_user(name), password, None, admin.valkey_host)
    if service.edge:  # signs the shop's CSRF tokens: one key for every replica
        values["CSRF_SECRET"] = secrets.password(f"csrf/{name}")
    return values


def _at(admin_url: str, user: str, password: str, path: str | None, host: str | None) -> str:
    return at_host(with_credentials(admin_url, user, password, path), host)


def provisioned_variables(service: Service) -> list[str]:
    """The names provision_service returns for `service`: the files a deployment mounts."""
    names = {"postgres": "DATABASE_URL", "valkey": "REDIS_URL", "broker": "BROKER_URL"}
    found = [variable for backing, variable in names.items() if backing in service.backing]
    return [*found, "CSRF_SECRET"] if service.edge else found


def check_admin_url(url: str, schemes: tuple[str, ...], option: str) -> None:
    """A usage error for a URL no driver could use, before anything connects."""
    parts = urlsplit(url)
    example = f"{schemes[0]}://USER:PASSWORD@HOST:PORT"
    try:
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        raise UsageError(f"{option}: the port in the URL is not a number", example) from None
    if parts.scheme not in schemes or not parts.hostname:
        shown = urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
        raise UsageError(f"{option}: {shown!r} is not a {schemes[0]}:// URL with a host", example)


def at_host(url: str, address: str | None) -> str:
    """`url` with its host (and port, when `address` has one) replaced: HOST or HOST:PORT."""
    if address is None:
        return url
    parts = urlsplit(url)
    host, port = check_address(address)
    credentials = parts.netloc.rpartition("@")[0]
    port = port or (str(parts.port) if parts.port else "")
    netloc = (f"{credentials}@" if credentials else "") + host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def check_address(address: str) -> tuple[str, str]:
    """HOST or HOST:PORT as (host, port or ""); a usage error for anything else."""
    host, _, port = address.partition(":")
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise UsageError(f"{address!r} is not HOST or HOST:PORT", "For example: postgres:5432")
    return host, port


def _admin_url(url: str | None, service: str, server: str, option: str) -> str:
    if url is None:
        raise UsageError(
            f"{service} needs {server}, and no admin URL for it was given",
            f"Give {option}, or leave {service} out (name the others with --service).",
        )
    return url


async def _reaching(admin_url: str, provisioning: Awaitable[str]) -> str:
    """The provisioning's result; a driver's error as what went wrong where, never with the
    password, and what to do about it."""
    parts = urlsplit(admin_url)
    where = f"{parts.scheme}://{parts.hostname}:{parts.port}"
    try:
        return await provisioning
    except MosaicError:
        raise
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        raise MosaicError(
            f"{where} refused the admin user {parts.username!r} (wrong user or password)",
            "Give the admin URL with the server's admin user and its password.",
        ) from None
    except redis.exceptions.AuthenticationError:
        raise MosaicError(
            f"{where} refused the admin user {parts.username or 'default'!r} "
            "(wrong user or password)",
            "Give the admin URL with the server's admin user and its password.",
        ) from None
    except (OSError, TimeoutError, redis.exceptions.ConnectionError) as error:
        raise MosaicError(
            f"cannot reach {where}: {error}",
            "Check that the server runs and that the URL's host and port are where it listens.",
        ) from None
    except Exception as error:  # any other driver error: say where, never the password
        raise MosaicError(
            f"cannot provision on {where}: {error}",
            "Check that the server runs and that the URL's user may create roles and databases.",
        ) from None
