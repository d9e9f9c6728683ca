"""The frontend's configuration: the chassis' settings, where its callees live, sessions,
and which proxies in front of it may say who the client is."""

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any

from chassis import CacheSettings, ServiceSettings
from pydantic import Field, HttpUrl, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import NoDecode


class FrontendSettings(ServiceSettings, CacheSettings):
    edge: bool = Field(
        default=True,
        validation_alias="EDGE",
        description="true: browsers call this service, so their x-deadline is ignored",
    )
    # The shop's largest form (checkout: an address, an email, a card) is under 2 KiB;
    # 16 KiB leaves room for long names and addresses and still refuses a flood at once.
    max_body_bytes: int = Field(
        default=16 * 1024,
        validation_alias="MAX_BODY_BYTES",
        ge=1024,
        le=1024 * 1024,
        description="the largest form post taken, in bytes; a larger one gets a 413 page "
        "(1024..1048576)",
    )
    catalog_url: HttpUrl = Field(
        validation_alias="CATALOG_URL",
        description="the catalog service's base URL, e.g. http://127.0.0.1:8001",
    )
    currency_url: HttpUrl = Field(
        validation_alias="CURRENCY_URL",
        description="the currency service's base URL, e.g. http://127.0.0.1:8002",
    )
    accounts_url: HttpUrl = Field(
        validation_alias="ACCOUNTS_URL",
        description="the accounts service's base URL, e.g. http://127.0.0.1:8003",
    )
    cart_url: HttpUrl = Field(
        validation_alias="CART_URL",
        description="the cart service's base URL, e.g. http://127.0.0.1:8004",
    )
    recommendations_url: HttpUrl = Field(
        validation_alias="RECOMMENDATIONS_URL",
        description="the recommendations service's base URL, e.g. http://127.0.0.1:8005",
    )
    orders_url: HttpUrl = Field(
        validation_alias="ORDERS_URL",
        description="the orders service's base URL, e.g. http://127.0.0.1:8006",
    )
    shipping_url: HttpUrl = Field(
        validation_alias="SHIPPING_URL",
        description="the shipping service's base URL, e.g. http://127.0.0.1:8007",
    )
    checkout_timeout_ms: int = Field(
        default=25_000,
        validation_alias="CHECKOUT_TIMEOUT_MS",
        ge=1000,
        le=120_000,
        description="ms 'Place order' waits for orders' answer (its saga charges and ships "
        "first), beyond REQUEST_BUDGET_MS (1000..120000)",
    )
    recommendations_timeout_ms: int = Field(
        default=350,
        validation_alias="RECOMMENDATIONS_TIMEOUT_MS",
        ge=10,
        le=5000,
        description="ms a product page waits for 'You may also like' before showing without it "
        "(10..5000)",
    )
    session_idle_hours: int = Field(
        default=7 * 24,
        validation_alias="FRONTEND_SESSION_IDLE_HOURS",
        ge=1,
        le=90 * 24,
        description="hours a shopper's session lives without a visit (1..2160)",
    )
    csrf_secret: SecretStr = Field(
        validation_alias="CSRF_SECRET",
        min_length=32,
        description="the key that signs forms' CSRF tokens and flash cookies (at least 32 "
        "random characters, the same for every replica); a new one refuses forms already "
        "on screen once",
    )
    trusted_proxies: Annotated[tuple[IPvAnyNetwork, ...], NoDecode] = Field(
        default=(),
        validation_alias="TRUSTED_PROXIES",
        description="comma-separated CIDRs of the proxies (ingress, load balancer) whose "
        "X-Forwarded-For is believed, e.g. 10.0.0.0/8,fd00::/8; empty trusts none",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(self.trusted_proxies)
