"""A service in a container: fixed ports, every interface, callees by DNS name, identity
from mounted files; and that TLS verifies a callee reached by its DNS name."""

import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from chassis.tls import client_context, server_context
from frontend.settings import FrontendSettings
from mosaic.containers import API_PORT, EDGE_PORT, OPS_PORT, container_env
from mosaic.home import services_dir
from mosaic.pki import Pki, ensure_pki
from mosaic.plan import service_env
from mosaic.services import Service, discover_services


@pytest.fixture(scope="module")
def services() -> dict[str, Service]:
    return {s.name: s for s in discover_services(services_dir())}


def test_every_process_binds_all_interfaces_on_the_fixed_ports(
    services: dict[str, Service],
) -> None:
    for service in services.values():
        for kind in service.processes:
            env = container_env(service, kind)
            assert env["HOST"] == "0.0.0.0"
            assert env["OPS_PORT"] == str(OPS_PORT)
            if kind == "web":
                assert env["PORT"] == str(EDGE_PORT if service.edge else API_PORT)
            else:  # a worker or relay serves no API
                assert "PORT" not in env, f"{service.name}.{kind}"


def test_callees_by_dns_name_and_identity_from_mounted_files(
    services: dict[str, Service],
) -> None:
    env = container_env(services["frontend"], "web")
    assert env["CATALOG_URL"] == f"https://catalog:{API_PORT}"
    assert env["ORDERS_URL"] == f"https://orders:{API_PORT}"
    assert env["TLS_CERT_FILE"] == "/run/mosaic/identity/tls.crt"
    assert env["TLS_KEY_FILE"] == "/run/mosaic/identity/tls.key"
    assert env["TLS_CA_FILE"] == "/run/mosaic/ca.crt"
    assert env["SERVICE_SIGNING_KEY_FILE"] == "/run/mosaic/identity/signing.key"
    assert env["SERVICE_TRUST_DIR"] == "/run/mosaic/trust"
    mesh = container_env(services["frontend"], "web", transport="mesh")
    assert mesh["CATALOG_URL"] == f"http://catalog:{API_PORT}"
    assert "TLS_CERT_FILE" not in mesh


def test_the_variable_names_are_the_runners(services: dict[str, Service], tmp_path: Path) -> None:
    """Compose and Kubernetes set what `mosaic up` sets, no more, no less (the backing URLs,
    SHOP_URL and CSRF_SECRET come from elsewhere)."""
    from mosaic.plan import security_env, tracing_env

    ensure_pki(tmp_path, list(services))
    ports = dict.fromkeys(services, 1234)
    for service in services.values():
        security = security_env(Pki.of(tmp_path), service, "mtls")
        runner = (
            service_env(service, ports, {}, security)
            | tracing_env("http://127.0.0.1:1", service)
            | {"OPS_PORT": "1", "MOSAIC_PROCESS": ""}
        )
        ours = container_env(service, "web")
        assert set(ours) <= set(runner), set(ours) - set(runner)
        assert {k for k in runner if k.endswith("_URL")} == {k for k in ours if k.endswith("_URL")}


def test_a_service_reads_its_callees_dns_names(
    services: dict[str, Service], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in container_env(services["frontend"], "web", transport="mesh").items():
        monkeypatch.setenv(name, value)
    trust = tmp_path / "trust"
    trust.mkdir()
    monkeypatch.setenv("SERVICE_TRUST_DIR", str(trust))
    key = tmp_path / "signing.key"
    key.write_text("mounted")
    monkeypatch.setenv("SERVICE_SIGNING_KEY_FILE", str(key))
    monkeypatch.setenv("CSRF_SECRET", "x" * 32)
    monkeypatch.setenv("REDIS_URL", "redis://frontend:secret@valkey:6379")
    settings = FrontendSettings()
    assert str(settings.catalog_url).rstrip("/") == f"http://catalog:{API_PORT}"
    assert settings.host == "0.0.0.0"


class Names(AbstractResolver):
    """DNS as a container network has it: every service's name, here all on loopback."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
async def catalog_port(tmp_path: Path) -> AsyncIterator[int]:
    """A TLS server with catalog's certificate, as catalog's container serves its API."""
    ensure_pki(tmp_path, ["catalog", "frontend"])
    pki = Pki.of(tmp_path)
    files = pki.service("catalog")
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="catalog")

    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(
        runner, "127.0.0.1", 0, ssl_context=server_context(files.cert, files.key, pki.ca_cert)
    )
    await site.start()
    server: Any = site._server
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


async def test_tls_accepts_a_callee_by_its_dns_name(catalog_port: int, tmp_path: Path) -> None:
    pki = Pki.of(tmp_path)
    frontend = pki.service("frontend")
    context = client_context(frontend.cert, frontend.key, pki.ca_cert)
    assert context.check_hostname
    connector = aiohttp.TCPConnector(resolver=Names(), ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(f"https://catalog:{catalog_port}/") as response:
            assert await response.text() == "catalog"
        # The same server under another service's name: the certificate does not say so.
        with pytest.raises(aiohttp.ClientConnectorCertificateError) as refused:
            await session.get(f"https://cart:{catalog_port}/")
        assert isinstance(refused.value.certificate_error, ssl.SSLCertVerificationError)
        assert "cart" in str(refused.value.certificate_error)
