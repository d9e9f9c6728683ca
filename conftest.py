"""Fixtures shared by every test in the workspace.

`backing`: one embedded Postgres and one Valkey for the whole test session, in a temporary
directory, on free 127.0.0.1 ports, stopped at the end. Ask it for a service's URLs; the
service is provisioned (role, database, ACL user) on first use, exactly as `mosaic up` does:

    def test_store(backing):
        engine = create_async_engine(backing.database_url("catalog"))
        cache = Redis.from_url(backing.redis_url("catalog"))

`backing.admin_database_url` / `backing.admin_redis_url` are the superuser / admin URLs,
for tests that set up or inspect across services.

Under pytest-xdist (`mosaic test` runs `-n logical --dist loadscope`), the tests of one file
stay on one worker (their module fixtures are set up once), and every system test, each of
which starts the whole shop with `mosaic up`, runs on one worker, one after another and
first, while the other workers take the rest: two shops at once on a 2-core machine would
only make both slow.
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from mosaic.backing import BackingServers

# The chassis's fixtures for a service's tests (`keys`, `database_url`, `db`, ...), configured
# by the `tested_service` fixture of the service's conftest.
pytest_plugins = ["chassis.testing.plugin"]

# Each parallel worker chooses free ports from a slice of its own (`mosaic.ports.free_port`),
# and so does every process it starts (they inherit the variable): one worker's shop never
# chooses a port another worker's process chose a moment before and has not bound yet.
if "PYTEST_XDIST_WORKER" in os.environ:
    _worker = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw") or 0)
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ["MOSAIC_PORT_SLICE"] = f"{_worker}/{max(_workers, _worker + 1)}"

# Each starts the shop (`mosaic up`, or compose for the container stage): one at a time.
SYSTEM_TESTS = ("tests/system/", "tests/browser/", "tests/containers/")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadscope`: a file's tests stay on one worker, and all system tests
    share one scope, so they run one after another on one worker. (pytest-xdist 3.8's own
    `--dist loadgroup` does the same with markers, but leaves them unread here.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneShopAtATime(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            return "system" if path.startswith(SYSTEM_TESTS) else path

    return OneShopAtATime(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The longest scope first, while the other workers take the files.
    items.sort(key=lambda item: not item.nodeid.startswith(SYSTEM_TESTS))


@pytest.fixture(scope="session")
def backing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    with BackingServers(tmp_path_factory.mktemp("backing")).start(timeout=60) as servers:
        yield servers
