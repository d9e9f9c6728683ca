"""The currency service's configuration: every field an environment variable."""

from __future__ import annotations

from chassis import ServiceSettings
from pydantic import Field, FilePath


class CurrencySettings(ServiceSettings):
    rates_file: FilePath | None = Field(
        default=None,
        validation_alias="CURRENCY_RATES_FILE",
        description=(
            "an existing ECB eurofxref-daily.xml file; unset, the rates shipped with the "
            "service (28 June 2024) are used"
        ),
    )
