"""The payments service's configuration: every field an environment variable."""

from __future__ import annotations

from chassis import DatabaseSettings, ServiceSettings
from pydantic import Field, model_validator


class PaymentsSettings(ServiceSettings, DatabaseSettings):
    processor_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        le=30,
        validation_alias="PROCESSOR_TIMEOUT_SECONDS",
        description=(
            "seconds to wait for the card processor before the charge is recorded failed "
            "(processor_timeout); 0 < s <= 30 and below REQUEST_BUDGET_MS"
        ),
    )

    @model_validator(mode="after")
    def _timeout_within_budget(self) -> PaymentsSettings:
        if self.processor_timeout_seconds * 1000 >= self.request_budget_ms:
            raise ValueError(
                "PROCESSOR_TIMEOUT_SECONDS must be below REQUEST_BUDGET_MS (in seconds): a "
                "charge has to be recorded before its request runs out of time"
            )
        return self
