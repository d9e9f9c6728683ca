"""The catalog's configuration: every field an environment variable."""

from __future__ import annotations

from typing import Literal

from chassis import CacheSettings, DatabaseSettings, ServiceSettings
from pydantic import Field

_CACHE_TTL = Field(
    default=300,
    validation_alias="CATALOG_CACHE_TTL_SECONDS",
    ge=1,
    le=86_400,
    description="seconds a cached read lives (1..86400); writes retire it sooner",
)


class CatalogSettings(ServiceSettings, DatabaseSettings, CacheSettings):
    cache_ttl_seconds: int = _CACHE_TTL


class TaskSettings(DatabaseSettings, CacheSettings):
    """What a one-off task (catalog.tasks) reads: its database and cache, how to log. A task
    serves nothing and calls no one, so it needs no ports, certificates or trust: a
    container of the image runs one with the two URLs alone (docs/operations.md)."""

    service_name: str = Field(default="catalog", validation_alias="MOSAIC_SERVICE")
    version: str = Field(default="", validation_alias="SERVICE_VERSION")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", validation_alias="LOG_FORMAT"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", validation_alias="LOG_LEVEL"
    )
    startup_timeout_seconds: float = Field(
        default=30.0, validation_alias="STARTUP_TIMEOUT_SECONDS", gt=0
    )
    cache_ttl_seconds: int = _CACHE_TTL
