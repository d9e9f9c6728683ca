"""Fixtures shared by every test in the workspace.

`backing`: one embedded Postgres and one Valkey for the whole test session, in a temporary
directory, on free 127.0.0.1 ports, stopped at the end. Ask it for a service's URLs; the
service is provisioned (role, database, ACL user) on first use, exactly as `mosaic up` does:

    def test_store(backing):
        engine = create_async_engine(backing.database_url("catalog"))
        cache = Redis.from_url(backing.redis_url("catalog"))

`backing.admin_database_url` / `backing.admin_redis_url` are the superuser / admin URLs,
for tests that set up or inspect across services.
"""

from collections.abc import Iterator

import pytest
from mosaic.backing import BackingServers


@pytest.fixture(scope="session")
def backing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    with BackingServers(tmp_path_factory.mktemp("backing")).start(timeout=60) as servers:
        yield servers
