from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import chassis.logs
import pytest
import structlog
from chassis.settings import ServiceSettings
from chassis.testing import ServiceKeys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def logging_as_it_was() -> Iterator[None]:
    """Logging is the process's: what a test configures (a level of warning, say) must
    not silence the request lines that other tests in the same worker read afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    config = structlog.get_config()
    as_json, identity = chassis.logs._as_json, dict(chassis.logs._identity)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    structlog.configure(**config)
    chassis.logs._as_json = as_json
    chassis.logs._identity.clear()
    chassis.logs._identity.update(identity)


@pytest.fixture
def keys(tmp_path: Path) -> ServiceKeys:
    """Signing keys for the test's own caller identity, `tester`, trusted by the app."""
    return ServiceKeys(tmp_path / "keys", ["tester"])


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, keys: ServiceKeys) -> None:
    monkeypatch.setenv("MOSAIC_SERVICE", "testsvc")
    monkeypatch.setenv("PORT", str(free_port()))
    monkeypatch.setenv("OPS_PORT", str(free_port()))
    # Plain HTTP in-process (TLS is tested with real processes); tokens are still checked.
    monkeypatch.setenv("TRANSPORT_SECURITY", "mesh")
    monkeypatch.setenv("SERVICE_TRUST_DIR", str(keys.trust_dir))


@pytest.fixture
def settings(settings_env: None) -> ServiceSettings:
    return ServiceSettings()


@pytest.fixture
async def anyio_backend() -> AsyncIterator[str]:
    yield "asyncio"
