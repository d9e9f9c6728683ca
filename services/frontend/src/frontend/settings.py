"""The frontend's configuration: the chassis' settings, where its callees live, sessions."""

from chassis import CacheSettings, ServiceSettings
from pydantic import Field, HttpUrl


class FrontendSettings(ServiceSettings, CacheSettings):
    edge: bool = Field(
        default=True,
        validation_alias="EDGE",
        description="true: browsers call this service, so their x-deadline is ignored",
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
    session_idle_hours: int = Field(
        default=7 * 24,
        validation_alias="FRONTEND_SESSION_IDLE_HOURS",
        ge=1,
        le=90 * 24,
        description="hours a shopper's session lives without a visit (1..2160)",
    )
