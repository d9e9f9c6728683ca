"""Service configuration from the environment (twelve-factor: config in env).

A service subclasses `ServiceSettings` (adding mixins for the backing services it uses);
`load_settings` turns a missing or invalid variable into one readable line and exit code 78.

Long because every variable the chassis reads is declared here once, with its default, its
bounds and the sentence its error shows; a reader finds any setting of any process in one
file, and the mixins are a few lines each.
"""

from __future__ import annotations

import os
import string
import sys
from importlib import metadata
from pathlib import Path
from typing import Literal, NoReturn, TypeVar

from pydantic import (
    DirectoryPath,
    Field,
    FilePath,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from chassis.tls import TRUST_DOMAIN

EX_CONFIG = 78  # sysexits.h: configuration error
# Whose identity the mesh's header names, by service: our own PKI's SPIFFE IDs unless told.
MESH_IDENTITY = f"spiffe://{TRUST_DOMAIN}/{{service}}"

S = TypeVar("S", bound=BaseSettings)

# Admission control's default bounds (MAX_IN_FLIGHT), from the bench's knee: 101 mix
# actions/s at p99 96 ms holds ~10 requests in flight at the edge (Little's law). 64 leaves
# six times that for bursts, and a full bound drains in ~0.6 s at the knee's rate, well
# inside a request's 5 s budget; behind the edge a page fans out to up to 3 calls at once.
EDGE_IN_FLIGHT = 64
SERVICE_IN_FLIGHT = 128


class ServiceSettings(BaseSettings):
    """What every service process needs; every field is an environment variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = Field(
        validation_alias="MOSAIC_SERVICE",
        description="the service's name, e.g. catalog",
    )
    version: str = Field(
        default="",
        validation_alias="SERVICE_VERSION",
        description="the release version; defaults to the installed package version",
    )
    # Loopback unless told: `mosaic up` leaves it so; a container sets HOST=0.0.0.0.
    host: str = Field(default="127.0.0.1", validation_alias="HOST", description="an IP to bind")
    # A web process needs it (`api_port`); a worker or relay serves only its ops port.
    port: int | None = Field(
        default=None,
        validation_alias="PORT",
        ge=1,
        le=65535,
        description="the TCP port for the service's API",
    )
    ops_port: int = Field(
        validation_alias="OPS_PORT",
        ge=1,
        le=65535,
        description="the TCP port for /healthz and /readyz",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", validation_alias="LOG_FORMAT", description="auto, json or console"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", validation_alias="LOG_LEVEL", description="debug, info, warning or error"
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        validation_alias="SHUTDOWN_GRACE_SECONDS",
        gt=0,
        le=300,
        description="seconds to finish in-flight requests after SIGTERM (0 < s <= 300)",
    )
    request_budget_ms: int = Field(
        default=5000,
        validation_alias="REQUEST_BUDGET_MS",
        ge=10,
        le=120_000,
        description="the most ms a request may take here; a caller's x-deadline may shorten it",
    )
    max_in_flight: int | None = Field(
        default=None,
        validation_alias="MAX_IN_FLIGHT",
        ge=1,
        le=10_000,
        description=(
            "requests served at once by one process; more are refused with 503 and "
            "Retry-After (default 64 at the edge, 128 behind it)"
        ),
    )
    shed_retry_after_seconds: int = Field(
        default=1,
        validation_alias="SHED_RETRY_AFTER_SECONDS",
        ge=1,
        le=60,
        description="the Retry-After of a request refused for capacity (1 <= s <= 60)",
    )
    # Request limits (chassis.limits, chassis.server_limits): why these numbers, in
    # docs/architecture.md ("Request limits").
    max_body_bytes: int = Field(
        default=64 * 1024,
        validation_alias="MAX_BODY_BYTES",
        ge=1024,
        le=64 * 1024 * 1024,
        description="the largest request body taken, in bytes; a larger one is refused with "
        "413 (1024..67108864)",
    )
    max_json_depth: int = Field(
        default=32,
        validation_alias="MAX_JSON_DEPTH",
        ge=2,
        le=256,
        description="how deep a JSON body may nest arrays and objects; deeper is refused with "
        "400 before it is parsed (2..256)",
    )
    max_header_bytes: int = Field(
        default=16 * 1024,
        validation_alias="MAX_HEADER_BYTES",
        ge=1024,
        le=1024 * 1024,
        description="the most bytes of header names and values a request may carry; more is "
        "refused with 431 (1024..1048576)",
    )
    max_headers: int = Field(
        default=100,
        validation_alias="MAX_HEADERS",
        ge=10,
        le=1000,
        description="the most header fields a request may carry; more is refused with 431 "
        "(10..1000)",
    )
    max_url_bytes: int = Field(
        default=8 * 1024,
        validation_alias="MAX_URL_BYTES",
        ge=256,
        le=1024 * 1024,
        description="the longest request target (path and query) taken; longer is refused "
        "with 414 (256..1048576)",
    )
    edge: bool = Field(
        default=False,
        validation_alias="EDGE",
        description="true for a browser-facing service: ignore callers' x-deadline",
    )
    startup_timeout_seconds: float = Field(
        default=60.0,
        validation_alias="STARTUP_TIMEOUT_SECONDS",
        gt=0,
        description="how long to keep retrying backing services at start",
    )

    transport_security: Literal["mtls", "mesh", "cloudrun"] = Field(
        default="mtls",
        validation_alias="TRANSPORT_SECURITY",
        description="mtls (services terminate TLS themselves), mesh (a service mesh does) or "
        "cloudrun (Cloud Run does, and its IAM proves the caller)",
    )
    cloud_run_project: str | None = Field(
        default=None,
        validation_alias="CLOUD_RUN_PROJECT",
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description="the Google Cloud project id whose service accounts the services run as",
    )
    metadata_server_url: str = Field(
        default="http://metadata.google.internal",
        validation_alias="METADATA_SERVER_URL",
        description="where Cloud Run's metadata server answers (a test points it elsewhere)",
    )
    tls_cert_file: FilePath | None = Field(
        default=None, validation_alias="TLS_CERT_FILE", description="an existing PEM certificate"
    )
    tls_key_file: FilePath | None = Field(
        default=None, validation_alias="TLS_KEY_FILE", description="an existing PEM private key"
    )
    tls_ca_file: FilePath | None = Field(
        default=None, validation_alias="TLS_CA_FILE", description="an existing PEM CA certificate"
    )
    mesh_identity: str = Field(
        default=MESH_IDENTITY,
        validation_alias="MESH_IDENTITY",
        description=(
            "a spiffe:// URI with {service} once, the identity the mesh asserts for a "
            "caller, e.g. spiffe://cluster.local/ns/mosaic/sa/{service} under Istio"
        ),
    )
    service_signing_key_file: FilePath | None = Field(
        default=None,
        validation_alias="SERVICE_SIGNING_KEY_FILE",
        description="an existing Ed25519 private key (PEM) to sign service tokens",
    )
    service_trust_dir: DirectoryPath | None = Field(
        default=None,
        validation_alias="SERVICE_TRUST_DIR",
        description="a folder of <service>.pub Ed25519 public keys",
    )

    @model_validator(mode="after")
    def _security_complete(self) -> ServiceSettings:
        tls = (self.tls_cert_file, self.tls_key_file, self.tls_ca_file)
        if self.transport_security == "mtls" and not all(tls):
            raise ValueError(
                "TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE must all be set when "
                "TRANSPORT_SECURITY=mtls (or set TRANSPORT_SECURITY=mesh behind a service mesh)"
            )
        if self.transport_security == "cloudrun" and self.cloud_run_project is None:
            raise ValueError(
                "CLOUD_RUN_PROJECT must be set when TRANSPORT_SECURITY=cloudrun: callers are "
                "proven as mosaic-<service>@<project>.iam.gserviceaccount.com"
            )
        if not self.edge and self.service_trust_dir is None:
            raise ValueError("SERVICE_TRUST_DIR must be set: a service verifies its callers")
        return self

    @property
    def in_flight_limit(self) -> int:
        """MAX_IN_FLIGHT, or the default: the edge's requests each hold a page's calls to
        several services, so it admits fewer than the services behind it (see
        docs/architecture.md, "Overload protection")."""
        if self.max_in_flight is not None:
            return self.max_in_flight
        return EDGE_IN_FLIGHT if self.edge else SERVICE_IN_FLIGHT

    def api_port(self) -> int:
        """PORT, which a process serving the API cannot do without: else stop with one line."""
        if self.port is None:
            fail(
                "PORT is not set; expected the TCP port for the service's API "
                "(a web process needs one; a worker or relay only OPS_PORT)"
            )
        return self.port

    @field_validator("mesh_identity")
    @classmethod
    def _one_service_placeholder(cls, value: str) -> str:
        try:
            fields = [
                field for _, field, _, _ in string.Formatter().parse(value) if field is not None
            ]
        except ValueError as error:  # an unmatched brace
            raise ValueError(str(error)) from None
        if fields != ["service"] or not value.startswith("spiffe://"):
            raise ValueError(f"{value!r} is no spiffe:// URI with {{service}} once")
        return value

    @field_validator("version", mode="after")
    @classmethod
    def _default_version(cls, value: str) -> str:
        return value or _package_version()


def _package_version() -> str:
    try:
        return metadata.version(_main_package())
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def _main_package() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", "") or ""
    return name.split(".")[0] or "chassis"


class DatabaseSettings(BaseSettings):
    """Mixin for services that own a Postgres database."""

    database_url: str = Field(
        validation_alias="DATABASE_URL",
        description="a PostgreSQL URL, e.g. postgresql://user:password@127.0.0.1:5432/dbname",
    )
    database_pool_size: int = Field(
        default=10, validation_alias="DATABASE_POOL_SIZE", ge=1, le=200, description="1..200"
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in {"postgres", "postgresql", "postgresql+asyncpg"} or "://" not in value:
            raise ValueError("expected a postgresql:// URL")
        return value


class CacheSettings(BaseSettings):
    """Mixin for services that use Valkey/Redis (cache, sessions)."""

    redis_url: str = Field(
        validation_alias="REDIS_URL",
        description="a Redis URL, e.g. redis://user:password@127.0.0.1:6379/0",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value.split("://", 1)[0] not in {"redis", "rediss", "valkey", "valkeys"}:
            raise ValueError("expected a redis:// or rediss:// URL")
        return value


def load_settings(cls: type[S]) -> S:
    """Read settings from the environment, or stop the process with one clear line.

    With SECRETS_DIR set, a variable may also come from the file of its name in that folder
    (DATABASE_URL, CSRF_SECRET, ...), as a Kubernetes Secret volume or a compose bind mount
    provides them: no secret in the environment a process listing shows. A variable in the
    environment wins over its file. Any settings class works, e.g.
    `load_settings(DatabaseSettings)` in a migration process.
    """
    secrets_dir = _secrets_dir()
    try:
        # pydantic-settings reads each file stripped of surrounding whitespace (its newline).
        return cls() if secrets_dir is None else cls(_secrets_dir=secrets_dir)
    except ValidationError as error:
        fail(describe_errors(cls, error))
    except SettingsError as error:  # a secret file it cannot read (the cause says why)
        cause = error.__cause__ or error
        fail(f"configuration error: SECRETS_DIR is invalid ({error}: {cause})")


def _secrets_dir() -> Path | None:
    value = os.environ.get("SECRETS_DIR", "")
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        fail(
            f"configuration error: SECRETS_DIR is invalid ({value} is no folder); expected "
            "a folder of files named after variables, e.g. DATABASE_URL"
        )
    return path


def describe_errors(cls: type[BaseSettings], error: ValidationError) -> str:
    """One line naming each bad variable and what it expects."""
    parts = []
    for item in error.errors():
        if not item["loc"]:  # a rule across several variables; its message names them
            parts.append(str(item["msg"]).removeprefix("Value error, "))
            continue
        name = str(item["loc"][0])
        field = _field_for_alias(cls, name)
        expected = field.description if field is not None and field.description else ""
        problem = "is not set" if item["type"] == "missing" else f"is invalid ({item['msg']})"
        hint = f"; expected {expected}" if expected else ""
        parts.append(f"{name} {problem}{hint}")
    return "configuration error: " + "; ".join(parts)


def _field_for_alias(cls: type[BaseSettings], alias: str) -> FieldInfo | None:
    for field in cls.model_fields.values():
        if isinstance(field.validation_alias, str) and field.validation_alias == alias:
            return field
    return None


def fail(message: str) -> NoReturn:
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(EX_CONFIG)
