from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from chassis.settings import ServiceSettings
from chassis.testing import ServiceKeys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
