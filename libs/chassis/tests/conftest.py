from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from chassis.settings import ServiceSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSAIC_SERVICE", "testsvc")
    monkeypatch.setenv("PORT", str(free_port()))
    monkeypatch.setenv("OPS_PORT", str(free_port()))


@pytest.fixture
def settings(settings_env: None) -> ServiceSettings:
    return ServiceSettings()


@pytest.fixture
async def anyio_backend() -> AsyncIterator[str]:
    yield "asyncio"
