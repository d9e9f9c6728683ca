"""The release phase: migrations run up and down cleanly, on a database of their own."""

from __future__ import annotations

from chassis.testing import assert_migrations_round_trip
from mosaic.backing import BackingServers

from .conftest import SERVICE_DIR


async def test_upgrade_downgrade_upgrade(backing: BackingServers) -> None:
    url = backing.database_url("orders_migrations")
    await assert_migrations_round_trip(SERVICE_DIR, url, ["orders", "outbox"])
