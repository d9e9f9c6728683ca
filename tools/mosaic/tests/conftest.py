"""Fixtures the deployment tests share."""

import pytest
from mosaic.home import services_dir
from mosaic.services import Service, discover_services


@pytest.fixture(scope="module")
def services() -> list[Service]:
    """The shop's services, as `mosaic` discovers them."""
    return discover_services(services_dir())
