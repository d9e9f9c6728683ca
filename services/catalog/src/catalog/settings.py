"""The catalog's configuration: every field an environment variable."""

from __future__ import annotations

from chassis import CacheSettings, DatabaseSettings, ServiceSettings
from pydantic import Field


class CatalogSettings(ServiceSettings, DatabaseSettings, CacheSettings):
    cache_ttl_seconds: int = Field(
        default=300,
        validation_alias="CATALOG_CACHE_TTL_SECONDS",
        ge=1,
        le=86_400,
        description="seconds a cached read lives (1..86400); writes retire it sooner",
    )


class TaskSettings(CatalogSettings):
    """One-off tasks (catalog.tasks) serve nothing: they need no ops port (nor PORT, which
    ServiceSettings leaves optional already)."""

    ops_port: int = Field(
        default=1, validation_alias="OPS_PORT", ge=1, le=65535, description="unused"
    )
