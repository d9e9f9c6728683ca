"""The notifications worker's configuration: every field an environment variable.

The worker has no API of its own; PORT is set by the platform like for every service but
never bound. Its ops port (OPS_PORT) serves /healthz and /readyz.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from chassis import DatabaseSettings, ServiceSettings
from chassis.events import BrokerSettings
from pydantic import Field, field_validator

SMTP_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand mail over, parsed from SMTP_URL."""

    hostname: str
    port: int
    use_tls: bool  # smtps://: TLS from the first byte (port 465)
    start_tls: bool  # smtp://...?starttls=true: upgrade with STARTTLS, or fail
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://host:port`, `smtps://user:password@host`, `smtp://host:587?starttls=true`.

    Raises ValueError with a message that fits on the configuration error line.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"not a URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in SMTP_DEFAULT_PORTS:
        raise ValueError("expected an smtp:// or smtps:// URL")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("an SMTP URL has no path")
    query = parse_qs(parts.query, keep_blank_values=True)
    if unknown := sorted(set(query) - {"starttls"}):
        raise ValueError(f"unknown option {unknown[0]!r} (only starttls=true|false)")
    start_tls = False
    if "starttls" in query:
        value = query["starttls"][-1].lower()
        if value not in _TRUE | _FALSE:
            raise ValueError("starttls must be true or false")
        start_tls = value in _TRUE
        if start_tls and scheme == "smtps":
            raise ValueError("smtps:// is TLS already; starttls=true goes with smtp://")
    if (parts.username is None) != (parts.password is None):
        raise ValueError("give both a user and a password, or neither")
    return SmtpTarget(
        hostname=parts.hostname,
        port=port or SMTP_DEFAULT_PORTS[scheme],
        use_tls=scheme == "smtps",
        start_tls=start_tls,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def check_mailbox(value: str) -> str:
    """A `Name <address>` or a bare address, on one line; ValueError otherwise."""
    if any(c in value for c in "\r\n"):
        raise ValueError("must be on one line")
    name, address = parseaddr(value)
    try:
        Address(display_name=name, addr_spec=address)
    except (ValueError, IndexError, HeaderParseError) as error:
        raise ValueError(f"not a mail address: {error}") from None
    if "@" not in address:
        raise ValueError("not a mail address")
    return value


class NotificationsSettings(ServiceSettings, DatabaseSettings, BrokerSettings):
    smtp_url: str = Field(
        validation_alias="SMTP_URL",
        description=(
            "smtp://[user:password@]host:port (add ?starttls=true to require STARTTLS) "
            "or smtps://[user:password@]host:port"
        ),
    )
    smtp_timeout_seconds: float = Field(
        default=15.0,
        validation_alias="SMTP_TIMEOUT_SECONDS",
        gt=0,
        le=120,
        description="seconds to wait for the SMTP server at each step (0 < s <= 120)",
    )
    shop_url: str = Field(
        default="http://127.0.0.1:8080",
        validation_alias="SHOP_URL",
        description="the shop's public base URL for links in e-mails, e.g. https://shop.example",
    )
    mail_from: str = Field(
        default="Mosaic <orders@mosaic.example>",
        validation_alias="MAIL_FROM",
        description="the sender, e.g. Mosaic <orders@shop.example>",
    )
    consumer_name: str = Field(
        default="",
        validation_alias="CONSUMER_NAME",
        pattern=r"^[A-Za-z0-9._-]{0,64}$",
        description="this process's name in the consumer group (default: host and pid)",
    )

    retry_after_seconds: float = Field(
        default=30.0,
        validation_alias="RETRY_AFTER_SECONDS",
        ge=1,
        le=3600,
        description="seconds before an event whose handling failed is tried again (1..3600)",
    )
    max_deliveries: int = Field(
        default=5,
        validation_alias="MAX_DELIVERIES",
        ge=1,
        le=100,
        description="deliveries of an event whose handling keeps failing before it is moved "
        "to the dead letters, events:<producer>:dead (1..100)",
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: str) -> str:
        parse_smtp_url(value)
        return value

    @field_validator("shop_url")
    @classmethod
    def _shop(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("a base URL has no query or fragment")
        return value.rstrip("/")

    @field_validator("mail_from")
    @classmethod
    def _sender(cls, value: str) -> str:
        return check_mailbox(value)

    @property
    def smtp(self) -> SmtpTarget:
        return parse_smtp_url(self.smtp_url)
