"""The in-process transport: a `ServiceClient` given the transport to an app hosted in this
process (as the host gives it to each client of a service it hosts) behaves as over the
network: the same headers, the callee's `callers()` checks with the caller's identity where
mTLS puts it, deadlines, retries and the same exceptions; and the callee's request context
never reaches the caller."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog
from chassis import (
    Credentials,
    Problem,
    ServiceClient,
    ServiceSettings,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
    callers,
    configure_logging,
    context,
    create_app,
    get_logger,
    tracing,
)
from chassis.client import ClientResource
from chassis.client_inprocess import hosted_transport
from chassis.host import clients_of, route_in_process
from chassis.inprocess import Hosted, finish_running
from chassis.logs import log_as
from chassis.testing import ServiceKeys
from chassis.tokens import TOKEN_HEADER
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import APIRouter, FastAPI, Request
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

caller_only: ContextVar[str] = ContextVar("caller_only", default="unset")


@dataclass
class Callee:
    """What the callee saw, and how it should behave."""

    seen: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0
    delay: float = 0.0
    finished: int = 0


def callee_app(keys: ServiceKeys, state: Callee) -> FastAPI:
    router = APIRouter(dependencies=[callers("caller")])

    @router.api_route("/v1/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, Any]:
        seen = {
            "headers": dict(request.headers),
            "tls": request.scope.get("extensions", {}).get("tls"),
            "query": dict(request.query_params),
            "body": (await request.body()).decode(),
            "caller_only": caller_only.get(),
            "request_id": context.request_id.get(),
            "trace_id": structlog.contextvars.get_contextvars().get("trace_id"),
        }
        state.seen.append(seen)
        caller_only.set("set by the callee")
        structlog.contextvars.bind_contextvars(leaked="yes")
        if len(state.seen) <= state.failures:
            raise_unavailable()
        if state.delay:
            await asyncio.sleep(state.delay)
        state.finished += 1
        return {"ok": True, "count": len(state.seen)}

    @router.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in the callee")

    @router.get("/v1/others-only", dependencies=[callers("someone-else")])
    async def others_only() -> dict[str, bool]:
        return {"ok": True}

    settings = ServiceSettings(
        MOSAIC_SERVICE="callee",
        PORT=1,
        OPS_PORT=2,
        TRANSPORT_SECURITY="mesh",
        SERVICE_TRUST_DIR=keys.trust_dir,
    )
    # The callee checks callers as in mtls mode: the token's issuer must match the TLS
    # client identity in the scope (which the in-process transport puts there).
    credentials = Credentials(
        "callee", transport="mtls", tls_files=None, signing_key=None, trust_dir=keys.trust_dir
    )
    return create_app(settings, routers=[router], credentials=credentials)


def raise_unavailable() -> None:
    raise Problem(503, "busy", "try later")


def self_signed(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A certificate for `name` that is its own CA: enough for the client's TLS contexts."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, cert_file


@pytest.fixture
def keys(tmp_path: Path) -> ServiceKeys:
    return ServiceKeys(tmp_path / "keys", ["caller"])


@pytest.fixture
def callee() -> Callee:
    return Callee()


@pytest.fixture
async def hosted(keys: ServiceKeys, callee: Callee) -> AsyncIterator[Hosted]:
    app = callee_app(keys, callee)
    registered = Hosted("callee", app)
    async with app.router.lifespan_context(app):
        registered.serving = True
        yield registered
        registered.serving = False
        await finish_running(5)


def in_process_client(
    hosted: Hosted, base_url: str, credentials: Credentials, **options: Any
) -> ServiceClient:
    """A client given the transport to the hosted app, as the in-process host gives it."""
    transport = hosted_transport(hosted, base_url, credentials)
    return ServiceClient(
        "callee", base_url, credentials=credentials, transport=transport, **options
    )


def caller_credentials(keys: ServiceKeys, tls: tuple[Path, Path, Path] | None) -> Credentials:
    return Credentials(
        "caller",
        transport="mtls" if tls else "mesh",
        tls_files=tls,
        signing_key=keys.key_file("caller"),
        trust_dir=keys.trust_dir,
    )


@pytest.fixture
async def client(hosted: Hosted, keys: ServiceKeys, tmp_path: Path) -> AsyncIterator[ServiceClient]:
    credentials = caller_credentials(keys, self_signed(tmp_path, "caller"))
    # Nothing listens on this port: every call must stay in the process.
    # A generous timeout: the console renderer takes seconds over a callee's traceback.
    client = in_process_client(hosted, "https://127.0.0.1:9", credentials, request_timeout=30.0)
    await client.open()
    yield client
    await client.close()


async def test_a_call_carries_the_headers_and_the_callers_identity_in_the_tls_extension(
    client: ServiceClient, callee: Callee
) -> None:
    deadline = time.time() + 3
    context.request_id.set("req-7")
    context.deadline.set(deadline)
    try:
        answer = await client.request("POST", "/v1/echo", params={"q": "a b"}, json={"x": 1})
    finally:
        context.request_id.set(None)
        context.deadline.set(None)

    assert (answer.status, answer.json()) == (200, {"ok": True, "count": 1})
    assert answer.headers["content-type"] == "application/json"
    [seen] = callee.seen
    headers = seen["headers"]
    assert headers["x-request-id"] == "req-7" == seen["request_id"]
    assert int(headers["x-deadline"]) == int(deadline * 1000)
    assert headers[TOKEN_HEADER]
    assert headers["host"] == "127.0.0.1:9"
    assert headers["content-type"] == "application/json"
    assert seen["tls"] == {"client_identity": "spiffe://mosaic.local/caller"}
    assert (seen["query"], json.loads(seen["body"])) == ({"q": "a b"}, {"x": 1})


async def test_without_a_tls_identity_an_mtls_callee_refuses_the_caller(
    hosted: Hosted, keys: ServiceKeys
) -> None:
    # Over plain http nothing proves the caller's certificate, as over the network.
    client = in_process_client(hosted, "http://127.0.0.1:9", caller_credentials(keys, None))
    await client.open()
    try:
        with pytest.raises(UpstreamStatusError) as raised:
            await client.get_json("/v1/echo")
    finally:
        await client.close()
    assert raised.value.upstream_status == 401


async def test_a_caller_off_the_routes_allowlist_is_refused(client: ServiceClient) -> None:
    with pytest.raises(UpstreamStatusError) as raised:
        await client.get_json("/v1/others-only")
    assert raised.value.upstream_status == 403
    assert "may not call" in raised.value.detail


async def test_the_callees_context_never_reaches_the_caller_nor_the_callers_the_callee(
    client: ServiceClient, callee: Callee
) -> None:
    caller_only.set("the caller's")
    structlog.contextvars.bind_contextvars(mine="caller")
    context.request_id.set("caller-request")
    try:
        await client.get_json("/v1/echo")
        assert caller_only.get() == "the caller's"
        assert context.request_id.get() == "caller-request"
        assert structlog.contextvars.get_contextvars() == {"mine": "caller"}
    finally:
        context.request_id.set(None)
        structlog.contextvars.clear_contextvars()
    assert callee.seen[0]["caller_only"] == "unset", "the callee starts from an empty context"


async def test_idempotent_calls_are_retried_and_posts_without_a_key_are_not(
    client: ServiceClient, callee: Callee
) -> None:
    callee.failures = 2
    assert await client.get_json("/v1/echo") == {"ok": True, "count": 3}

    callee.seen.clear()
    callee.failures = 1
    answer = await client.request("POST", "/v1/echo", json={})
    assert answer.status == 503
    assert len(callee.seen) == 1


async def test_a_slow_callee_is_cut_at_the_deadline_and_finishes_on_its_own(
    client: ServiceClient, callee: Callee
) -> None:
    callee.delay = 0.5
    context.deadline.set(time.time() + 0.2)
    try:
        with pytest.raises(UpstreamTimeout):
            await client.get_json("/v1/echo")
    finally:
        context.deadline.set(None)
    # As a server goes on after its client hung up, the callee was not cancelled.
    await finish_running(5)
    assert callee.finished == len(callee.seen) >= 1


async def test_an_unhandled_error_in_the_callee_is_a_500(client: ServiceClient) -> None:
    with pytest.raises(UpstreamStatusError) as raised:
        await client.get_json("/v1/boom")
    assert raised.value.upstream_status == 500


async def test_the_host_gives_the_transport_to_the_clients_of_the_services_it_hosts_only(
    hosted: Hosted, keys: ServiceKeys, tmp_path: Path
) -> None:
    credentials = caller_credentials(keys, self_signed(tmp_path, "caller"))
    url = "https://127.0.0.1:9"
    to_hosted = ClientResource(ServiceClient("callee", url, credentials=credentials))
    to_elsewhere = ServiceClient("elsewhere", url, credentials=credentials)
    route_in_process({"callee": hosted}, [credentials, to_hosted, to_elsewhere])
    assert clients_of([credentials, to_hosted, to_elsewhere]) == [to_hosted.http, to_elsewhere]

    for client in (to_hosted.http, to_elsewhere):
        await client.open()
    try:
        # Nothing listens on port 9: the one call that works stayed in the process.
        assert await to_hosted.http.get_json("/v1/echo") == {"ok": True, "count": 1}
        with pytest.raises(UpstreamUnavailable):
            await to_elsewhere.get_json("/v1/echo")
    finally:
        for client in (to_hosted.http, to_elsewhere):
            await client.close()


async def test_a_callee_that_does_not_serve_is_unavailable(
    keys: ServiceKeys, callee: Callee, tmp_path: Path
) -> None:
    hosted = Hosted("callee", callee_app(keys, callee))  # hosted, not serving yet
    credentials = caller_credentials(keys, self_signed(tmp_path, "caller"))
    client = in_process_client(hosted, "https://127.0.0.1:9", credentials)
    await client.open()
    try:
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.get_json("/v1/echo")
    finally:
        await client.close()
    assert raised.value.status == 503
    assert callee.seen == []


@pytest.mark.usefixtures("logging_as_it_was")
def test_lines_name_the_service_of_their_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(service="host", version="1", log_format="json")
    log = get_logger("chassis.tests.inprocess")

    def as_callee() -> None:
        log_as("callee", "2")
        log.info("inside")

    copy_context().run(as_callee)
    log.info("outside")

    inside, outside = map(json.loads, capsys.readouterr().out.splitlines())
    assert (inside["service"], inside["version"]) == ("callee", "2")
    assert (outside["service"], outside["version"]) == ("host", "1")


async def test_the_trace_crosses_an_in_process_call(
    spans: InMemorySpanExporter, client: ServiceClient, callee: Callee
) -> None:
    """Caller's span → our client span → the callee's server span, as over the network;
    the server span names the route's template and the proven caller, never the raw path."""
    with tracing.span("handling") as handling:
        answer = await client.request("POST", "/v1/echo", params={"q": "secret"}, json={})
    assert answer.status == 200
    by_kind = {s.kind: s for s in spans.get_finished_spans()}
    call, served = by_kind[SpanKind.CLIENT], by_kind[SpanKind.SERVER]
    trace_id = handling.get_span_context().trace_id
    assert {call.context.trace_id, served.context.trace_id} == {trace_id}
    assert call.parent is not None and call.parent.span_id == handling.get_span_context().span_id
    assert served.parent is not None and served.parent.span_id == call.context.span_id
    assert served.name == "POST /v1/echo"
    attributes = dict(served.attributes or {})
    assert attributes["http.route"] == "/v1/echo"
    assert attributes["mosaic.caller"] == "caller"
    assert "secret" not in json.dumps(attributes, default=str)
    # The callee's log lines carry the same trace id.
    assert callee.seen[0]["trace_id"] == f"{trace_id:032x}"
