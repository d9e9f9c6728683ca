"""The frontend's configuration: the chassis' settings plus where catalog lives."""

from chassis import ServiceSettings
from pydantic import Field, HttpUrl


class FrontendSettings(ServiceSettings):
    edge: bool = Field(
        default=True,
        validation_alias="EDGE",
        description="true: browsers call this service, so their x-deadline is ignored",
    )
    catalog_url: HttpUrl = Field(
        validation_alias="CATALOG_URL",
        description="the catalog service's base URL, e.g. http://127.0.0.1:8001",
    )
