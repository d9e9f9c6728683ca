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
stay on one worker (their module fixtures are set up once), files handed out longest first
(LONGEST_FIRST), then the other system and browser files, then the rest: two shops may run
at once, one per worker (see `pytest_xdist_make_scheduler`).
"""

import os
import signal
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
# A run started in the background by a non-interactive shell (`./mosaic test &` in a script)
# inherits SIGINT ignored, and so would every process the tests start: Python installs no
# KeyboardInterrupt where SIGINT is ignored, so the tests of Ctrl-C (`mosaic logs --follow`,
# `mosaic bench`) would fail for how the run was started (seen: two such tests timed out).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

if "PYTEST_XDIST_WORKER" in os.environ:
    _worker = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw") or 0)
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ["MOSAIC_PORT_SLICE"] = f"{_worker}/{max(_workers, _worker + 1)}"

# Each starts the shop (`mosaic up`, or compose for the container stage).
SYSTEM_TESTS = ("tests/system/", "tests/browser/", "tests/quiet/", "tests/containers/")
# The longest files, longest first (measured 2026-12-07 on 2 cores: seconds of tests, shop
# start included): each worker takes the next file when it is free, so a long file must
# not be the last one handed out. The other system and browser files follow, then the rest.
LONGEST_FIRST = (  # seconds alone on a quiet machine
    "tests/system/test_bench.py",  # 205 s
    "tests/system/test_rolling_restarts.py",  # 200 s
    "tests/system/test_checkout_crash_points.py",  # 160 s
    "tests/system/test_hop_faults_under_load.py",  # 150 s
    "tests/system/test_backing_restarts_under_load.py",  # 150 s
    "tests/system/test_upgrade.py",  # 135 s (each load ended with its step: SIGUSR1)
    "tests/system/test_checkout_idempotency.py",  # 115 s
    "tests/browser/test_checkout.py",  # 100 s
    "tests/system/test_chaos_faults.py",  # 95 s
    "tests/system/test_names_across_releases.py",  # 85 s
    "tests/system/test_request_limits.py",  # 85 s
    "tools/mosaic/tests/test_k8s_overlays.py",  # 60 s (one checkov run for every render)
)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadscope`: a file's tests stay on one worker (a module's shop is
    started once), files handed out in collection order (`--no-loadscope-reorder`, see
    checks.py), which `pytest_collection_modifyitems` makes longest first.

    Until 2026-12-07 every system test shared one scope, so they ran one after another on
    one worker: 47 minutes of them on one worker while the other was idle after its 19 of
    unit tests. Two shops at once on two cores is what CI's 45 minutes afford; each system
    test bounds its waits for a shared machine rather than assuming a quiet one.
    (pytest-xdist 3.8's own `--dist loadgroup` would group by markers, but leaves them
    unread here.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid.split("::")[0]

    return ByFile(config, log)


def _rank(item: pytest.Item) -> tuple[int, bool]:
    path = item.nodeid.split("::")[0]
    first = LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)
    return first, not path.startswith(SYSTEM_TESTS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: a file's tests keep their order


@pytest.fixture(scope="session")
def backing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    with BackingServers(tmp_path_factory.mktemp("backing")).start(timeout=60) as servers:
        yield servers
