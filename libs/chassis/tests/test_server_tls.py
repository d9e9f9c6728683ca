"""The API port over mTLS, as a client meets it: a refused certificate gets the TLS alert
that says why (not a dropped connection, which looks like a crash), a good one gets HTTP.

The server is the chassis's own (`api_server`, uvicorn on uvloop) in a thread of its own;
the certificates come from the runner's issuer."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from chassis import ServiceSettings, create_app
from chassis.security import Credentials
from chassis.server import api_server, listening_socket, run_event_loop
from mosaic.pki import CA, issue_ca, issue_leaf, write_leaf_files


@pytest.fixture(scope="module")
def ca() -> CA:
    return issue_ca("Mosaic test")


@pytest.fixture(scope="module")
def port(ca: CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("tls")
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    cert, key = write_leaf_files(issue_leaf(ca, "catalog"), folder / "catalog")
    settings = ServiceSettings(
        MOSAIC_SERVICE="catalog",
        PORT=1,
        OPS_PORT=2,
        TLS_CERT_FILE=cert,
        TLS_KEY_FILE=key,
        TLS_CA_FILE=folder / "ca.pem",
        SERVICE_TRUST_DIR=folder,
    )
    credentials = Credentials.from_settings(settings)
    server = api_server(create_app(settings, routers=[]), settings, credentials)
    sock = listening_socket("127.0.0.1", 0)

    async def serve() -> bool:
        await server.serve(sockets=[sock])
        return True

    thread = threading.Thread(target=run_event_loop, args=(serve(),), daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def outcome(port: int, ca: CA, leaf_folder: Path | None) -> str | bytes:
    """The first bytes of the answer to a request, or the name of the TLS alert."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=ca.cert_pem.decode())
    if leaf_folder is not None:
        context.load_cert_chain(leaf_folder / "tls.crt", leaf_folder / "tls.key")
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)  # the port accepts TCP
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        try:
            tls.sendall(b"GET /v1/nothing HTTP/1.1\r\nHost: catalog\r\nConnection: close\r\n\r\n")
            return tls.recv(9)
        except ssl.SSLError as error:
            return str(error.reason)


def leaf(ca: CA, folder: Path, **validity: datetime.datetime) -> Path:
    write_leaf_files(issue_leaf(ca, "frontend", **validity), folder)
    return folder


def test_a_good_certificate_gets_http(port: int, ca: CA, tmp_path: Path) -> None:
    assert outcome(port, ca, leaf(ca, tmp_path)) == b"HTTP/1.1 "


def test_no_certificate_gets_certificate_required(port: int, ca: CA) -> None:
    assert outcome(port, ca, None) == "TLSV13_ALERT_CERTIFICATE_REQUIRED"


def test_another_ca_s_certificate_gets_unknown_ca(port: int, ca: CA, tmp_path: Path) -> None:
    assert outcome(port, ca, leaf(issue_ca("Not Mosaic"), tmp_path)) == "TLSV1_ALERT_UNKNOWN_CA"


def test_an_expired_certificate_gets_certificate_expired(port: int, ca: CA, tmp_path: Path) -> None:
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    expired = leaf(ca, tmp_path, not_before=past, not_after=past + datetime.timedelta(days=1))
    assert outcome(port, ca, expired) == "SSLV3_ALERT_CERTIFICATE_EXPIRED"


def test_the_port_still_serves_after_refusals(port: int, ca: CA, tmp_path: Path) -> None:
    for _ in range(3):
        outcome(port, ca, None)
    assert outcome(port, ca, leaf(ca, tmp_path)) == b"HTTP/1.1 "
