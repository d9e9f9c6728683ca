"""Reloaded TLS contexts trust exactly the CA bundle on disk: a CA taken out is refused
at the next handshake, as a CA put in is accepted; the certificate served follows the
files. Real handshakes over loopback, with certificates from the runner's own issuer."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chassis.tls import ReloadingContexts
from cryptography import x509
from mosaic.pki import CA, issue_ca, issue_leaf, write_leaf_files


@dataclass
class Bundle:
    folder: Path
    ours: CA
    other: CA

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    def trust(self, *cas: CA) -> None:
        # A new file, renamed over the old one, as the issuer and Kubernetes replace files.
        fresh = self.folder / "ca.pem.new"
        fresh.write_bytes(b"".join(ca.cert_pem for ca in cas))
        fresh.replace(self.ca_file)

    def client(self, ca: CA, name: str = "frontend") -> ssl.SSLContext:
        cert, key = write_leaf_files(issue_leaf(ca, name), self.folder / f"{name}-{id(ca)}")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=self.ours.cert_pem.decode())
        context.load_cert_chain(str(cert), str(key))
        return context


@pytest.fixture
def bundle(tmp_path: Path) -> Bundle:
    return Bundle(tmp_path, issue_ca("Mosaic test"), issue_ca("Another CA"))


@pytest.fixture
def server(bundle: Bundle) -> Iterator[tuple[ReloadingContexts, int]]:
    """A TLS server on the process's server context, answering one byte per connection."""
    bundle.trust(bundle.ours, bundle.other)
    cert, key = write_leaf_files(issue_leaf(bundle.ours, "catalog"), bundle.folder / "catalog")
    contexts = ReloadingContexts(cert, key, bundle.ca_file)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                with contexts.server.wrap_socket(connection, server_side=True) as tls:
                    tls.sendall(b"!")
            except (ssl.SSLError, OSError):
                pass  # a refused handshake: what some tests expect

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    yield contexts, port
    stop.set()
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # wakes accept()
    thread.join(timeout=5)
    listener.close()


def handshake(port: int, context: ssl.SSLContext) -> tuple[str, x509.Certificate | None]:
    """'ok' and the server's certificate, or the name of the TLS alert the server sent."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
        try:
            tls.recv(1)  # TLS 1.3: the server judges our certificate after its Finished
        except ssl.SSLError as error:
            return str(error.reason), None
        assert der is not None
        return "ok", x509.load_der_x509_certificate(der)


def test_a_ca_taken_out_of_the_bundle_is_refused_at_the_next_handshake(
    bundle: Bundle, server: tuple[ReloadingContexts, int]
) -> None:
    contexts, port = server
    ours, other = bundle.client(bundle.ours), bundle.client(bundle.other)
    assert handshake(port, other)[0] == "ok"

    bundle.trust(bundle.ours)
    assert contexts.reload_if_changed()

    assert handshake(port, other)[0] == "TLSV1_ALERT_UNKNOWN_CA"
    assert handshake(port, ours)[0] == "ok"


def test_a_ca_put_into_the_bundle_is_trusted_and_the_served_certificate_follows(
    bundle: Bundle, server: tuple[ReloadingContexts, int]
) -> None:
    contexts, port = server
    bundle.trust(bundle.ours)
    contexts.reload_if_changed()
    assert handshake(port, bundle.client(bundle.other))[0] == "TLSV1_ALERT_UNKNOWN_CA"

    bundle.trust(bundle.ours, bundle.other)
    renewed = issue_leaf(bundle.ours, "catalog")
    write_leaf_files(renewed, bundle.folder / "catalog")
    assert contexts.reload_if_changed()

    status, served = handshake(port, bundle.client(bundle.other))
    assert status == "ok"
    assert served is not None and served.serial_number == renewed.cert.serial_number


def test_the_client_context_trusts_exactly_the_new_bundle(
    bundle: Bundle, server: tuple[ReloadingContexts, int]
) -> None:
    contexts, _ = server
    before = contexts.client
    bundle.trust(bundle.ours)
    assert contexts.reload_if_changed()
    assert contexts.client is not before
    subjects = [ca["subject"] for ca in contexts.client.get_ca_certs()]
    assert len(subjects) == 1
