"""The recommendations service's configuration: every field an environment variable.

Calls to catalog are signed with SERVICE_SIGNING_KEY_FILE; without it the catalog client
refuses to open, so the process stops at start-up with that message.
"""

from __future__ import annotations

from chassis import ServiceSettings
from pydantic import Field, HttpUrl


class RecommendationsSettings(ServiceSettings):
    catalog_url: HttpUrl = Field(
        validation_alias="CATALOG_URL",
        description="the catalog service's base URL, e.g. https://127.0.0.1:8001",
    )
    # A tight budget: recommendations are an optional block on a page, so a slow answer is
    # worth less than none. The caller's x-deadline may shorten it further.
    request_budget_ms: int = Field(
        default=800,
        validation_alias="REQUEST_BUDGET_MS",
        ge=10,
        le=120_000,
        description="the most ms a request may take here; a caller's x-deadline may shorten it",
    )
    catalog_timeout_seconds: float = Field(
        default=0.4,
        validation_alias="RECOMMENDATIONS_CATALOG_TIMEOUT_SECONDS",
        gt=0,
        le=10,
        description="the most one call to catalog may take (retries stay within the budget)",
    )
