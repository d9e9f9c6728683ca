from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import chassis.logs
import chassis.tracing
import httpx
import pytest
import structlog
from aiohttp import web
from asgi_lifespan import LifespanManager
from chassis import Credentials
from chassis.sampling import NoOrphanCalls
from chassis.settings import ServiceSettings
from chassis.testing import ServiceKeys
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased


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
def credentials(tmp_path: Path) -> Credentials:
    """A `ServiceClient`'s credentials as the service `caller`, plain HTTP (mesh)."""
    keys = ServiceKeys(tmp_path, ["caller"])
    return Credentials(
        "caller",
        transport="mesh",
        tls_files=None,
        signing_key=keys.key_file("caller"),
        trust_dir=keys.trust_dir,
    )


@asynccontextmanager
async def callee_at(
    handle: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """A real aiohttp server answering every path with `handle`; yields its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def calling(app: FastAPI, headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `app` in-process, its lifespan started, sending `headers`."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            yield client


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


_recorded = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans this test ends, as the process's exporter would send them. The provider
    and instrumentations are the process's (installed once; OpenTelemetry allows one)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(sampler=NoOrphanCalls(ParentBased(ALWAYS_ON)))
        provider.add_span_processor(SimpleSpanProcessor(_recorded))
        trace.set_tracer_provider(provider)
        chassis.tracing._instrument_libraries()
    _recorded.clear()
    yield _recorded
    _recorded.clear()
