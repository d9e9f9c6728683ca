"""orders' configuration: every field an environment variable.

Calls to the other services are signed with SERVICE_SIGNING_KEY_FILE; without it the
clients refuse to open, so the process stops at start-up with that message.
"""

from __future__ import annotations

from chassis import DatabaseSettings, ServiceSettings
from pydantic import Field, HttpUrl, field_validator, model_validator

from orders.crash import POINTS as CRASH_POINTS


class OrdersSettings(ServiceSettings, DatabaseSettings):
    cart_url: HttpUrl = Field(validation_alias="CART_URL", description="the cart service's URL")
    catalog_url: HttpUrl = Field(
        validation_alias="CATALOG_URL", description="the catalog service's URL"
    )
    currency_url: HttpUrl = Field(
        validation_alias="CURRENCY_URL", description="the currency service's URL"
    )
    payments_url: HttpUrl = Field(
        validation_alias="PAYMENTS_URL", description="the payments service's URL"
    )
    shipping_url: HttpUrl = Field(
        validation_alias="SHIPPING_URL", description="the shipping service's URL"
    )
    # A checkout waits for its saga: more than the chassis' 5 s default.
    request_budget_ms: int = Field(
        default=30_000,
        validation_alias="REQUEST_BUDGET_MS",
        ge=10,
        le=120_000,
        description="the most ms a request may take here; a caller's x-deadline may shorten it",
    )
    saga_seconds: float = Field(
        default=20.0,
        validation_alias="SAGA_SECONDS",
        gt=0,
        le=300,
        description="how long one drive of a saga may keep retrying a callee that is down "
        "before leaving the order to the recovery (seconds, less than SETTLE_SECONDS)",
    )
    lease_seconds: float = Field(
        default=5.0,
        validation_alias="LEASE_SECONDS",
        ge=0.3,
        le=3600,
        description="how long a saga stays with its driver after the driver's last sign of "
        "life (seconds); a live driver renews it every third of it, so a driver that died "
        "is taken over within this time",
    )
    checkout_wait_seconds: float = Field(
        default=25.0,
        validation_alias="CHECKOUT_WAIT_SECONDS",
        gt=0,
        le=120,
        description="how long a repeated checkout (same Idempotency-Key) waits for the "
        "first one's saga before answering 202 (seconds)",
    )
    payments_timeout_seconds: float = Field(
        default=10.0,
        validation_alias="PAYMENTS_TIMEOUT_SECONDS",
        gt=0,
        le=60,
        description="how long one charge call may take (payments waits on its processor)",
    )
    settle_seconds: float = Field(
        default=120.0,
        validation_alias="SETTLE_SECONDS",
        gt=0,
        le=86_400,
        description="how long a cancelled order whose charge was never seen at payments "
        "is watched for a late charge to refund (seconds; more than payments' longest "
        "charge, with a margin)",
    )
    test_crash_after: str | None = Field(
        default=None,
        validation_alias="MOSAIC_TEST_CRASH_AFTER",
        description="tests only: SIGKILL this process right after this saga step is "
        f"persisted, one of {', '.join(sorted(CRASH_POINTS))}; unset in real use",
    )

    @field_validator("test_crash_after")
    @classmethod
    def _known_step(cls, value: str | None) -> str | None:
        if value is not None and value not in CRASH_POINTS:
            raise ValueError(f"not a saga step ({', '.join(sorted(CRASH_POINTS))})")
        return value or None

    @model_validator(mode="after")
    def _settle_after_saga(self) -> OrdersSettings:
        # A charge may land until its drive's deadline (SAGA_SECONDS after the drive began),
        # even after a takeover: the settling window must outlast it.
        if self.settle_seconds <= self.saga_seconds:
            raise ValueError("SETTLE_SECONDS must be more than SAGA_SECONDS")
        return self


class JobSettings(OrdersSettings):
    """Admin processes (the recovery) serve nothing: they need no ops port (nor PORT,
    which ServiceSettings leaves optional already)."""

    ops_port: int = Field(
        default=1, validation_alias="OPS_PORT", ge=1, le=65535, description="unused"
    )
