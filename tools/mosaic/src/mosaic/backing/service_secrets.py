"""What one service gets from the backing servers: its own DATABASE_URL, REDIS_URL and
BROKER_URL (provisioned through admin URLs) and, for the edge, its CSRF_SECRET.

The one path for every deployment: `mosaic up` calls it for each service it starts, and
`mosaic admin provision` for the secret files that compose or Kubernetes mount. Both read
passwords from a `Secrets` file, so running either again converges the servers to the
same passwords instead of inventing new ones.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.exceptions

from mosaic.backing.provision import (
    ValkeyUser,
    broker_acl,
    broker_user,
    cache_acl,
    provision_postgres,
    set_acl_user,
    with_credentials,
)
from mosaic.backing.secrets import Secrets
from mosaic.errors import MosaicError, UsageError
from mosaic.services import Service

_T = TypeVar("_T")
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
    # The Valkey users are managed outside (a Memorystore ACL policy made from the same
    # rules, valkey_users): provisioning never connects to Valkey, and `valkey` (or, without
    # it, `valkey_host`) only says where the URLs point.
    valkey_external: bool = False


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
    if admin.valkey_external and {"valkey", "broker"} & service.backing:
        note(f"{name}: its Valkey users are managed outside (--valkey-users external)")
        return values
    if users := valkey_users(service, secrets):
        url = _admin_url(admin.valkey, name, "Valkey", "--valkey-admin-url")
        for user in users:
            note(f"{name}: {user.about}")
            await _reaching(url, set_acl_user(url, user))
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
    valkey = _valkey_base(admin, name) if {"valkey", "broker"} & service.backing else None
    if "valkey" in service.backing and valkey is not None:
        password = secrets.password(f"valkey/{name}")
        values["REDIS_URL"] = _at(valkey, name, password, None, admin.valkey_host)
    if "broker" in service.backing and valkey is not None:
        password = secrets.password(f"broker/{name}")
        values["BROKER_URL"] = _at(valkey, broker_user(name), password, None, admin.valkey_host)
    if service.edge:  # signs the shop's CSRF tokens: one key for every replica
        values["CSRF_SECRET"] = secrets.password(f"csrf/{name}")
    return values


def valkey_users(service: Service, secrets: Secrets) -> list[ValkeyUser]:
    """The service's Valkey ACL users with their passwords: what provisioning sets with `ACL
    SETUSER`, and what `mosaic deploy k8s secrets --valkey-acl-policy` writes for Memorystore."""
    found = []
    if "valkey" in service.backing:
        found.append(cache_acl(service.name, secrets.password(f"valkey/{service.name}")))
    if "broker" in service.backing:
        password = secrets.password(f"broker/{service.name}")
        found.append(broker_acl(service.name, password, service.consumes))
    return found


def _valkey_base(admin: AdminUrls, service: str) -> str | None:
    """The URL the service's Valkey URLs are made from: the admin URL; with users managed
    outside, that or redis://VALKEY_HOST, or None (no URL to write: the provisioning Job
    of a Kubernetes deployment, whose Secrets hold the URLs already)."""
    if admin.valkey_external:
        if admin.valkey is not None:
            return admin.valkey
        return f"redis://{admin.valkey_host}" if admin.valkey_host else None
    return _admin_url(admin.valkey, service, "Valkey", "--valkey-admin-url")


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


async def _reaching(admin_url: str, provisioning: Awaitable[_T]) -> _T:
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
    except redis.exceptions.NoPermissionError:
        # Memorystore for Valkey answers NOPERM to every ACL command: its users come from an
        # ACL policy made through Google's API.
        raise MosaicError(
            f"{where} refused ACL SETUSER to {parts.username or 'default'!r} (NOPERM): on "
            "Memorystore, write its ACL policy with `mosaic deploy k8s secrets "
            "--valkey-acl-policy FILE` and provision with --valkey-users external",
            "On a Valkey of your own, give an admin URL whose user may run ACL commands.",
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
