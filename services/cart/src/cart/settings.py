"""The cart's configuration: every field an environment variable.

Calls to catalog are signed with SERVICE_SIGNING_KEY_FILE; without it the catalog client
refuses to open, so the process stops at start-up with that message.
"""

from __future__ import annotations

from chassis import DatabaseSettings, ServiceSettings
from pydantic import Field, HttpUrl


class CartSettings(ServiceSettings, DatabaseSettings):
    catalog_url: HttpUrl = Field(
        validation_alias="CATALOG_URL",
        description="the catalog service's base URL, e.g. https://127.0.0.1:8001",
    )
