"""Zero trust against the real catalog under `mosaic up`: every way of not being an allowed
caller is refused, at the handshake or with the right status; the allowed caller succeeds;
certificates rotate under load without a failed request."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from mosaic.pki import (
    Pki,
    client_ssl_context,
    issue_ca,
    issue_leaf,
    load_signing_key,
    new_signing_key,
    public_key_pem,
    sign_token,
    write_leaf_files,
)
from mosaic.pki.files import write_atomically
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic, wait_until

# Normal mode only: handshakes, certificates and their rotation under load are about TLS
# between processes; in-process calls between services have no handshake to refuse.
pytestmark = pytest.mark.system

PRODUCTS = "/v1/products"
LEEWAY = 5  # the chassis's tolerance for clock differences, in seconds


@dataclass
class Shop:
    up: UpProcess
    home: Path
    pki: Pki
    catalog: str  # https://127.0.0.1:<port>
    shop_url: str  # the frontend, plain HTTP for browsers

    @property
    def catalog_port(self) -> int:
        return int(self.catalog.rsplit(":", 1)[1])

    def tls(self, cert: Path | None, key: Path | None = None) -> httpx.Client:
        context = client_ssl_context(self.pki.ca_cert, cert, key)
        return httpx.Client(base_url=self.catalog, verify=context, timeout=5)

    def as_service(self, name: str) -> httpx.Client:
        files = self.pki.service(name)
        return self.tls(files.cert, files.key)

    def token(self, issuer: str, audience: str = "catalog", **options: object) -> str:
        key = load_signing_key(self.pki.service(issuer).signing_key)
        return sign_token(key, issuer=issuer, audience=audience, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("zero-trust") / "home"
    with UpProcess(home, free_port()) as up:
        url = up.wait_ready(timeout=90)
        port = up.processes()["catalog.web.1"]["port"]
        yield Shop(up, home, Pki.of(home), f"https://127.0.0.1:{port}", url)


def tcp_connection(shop: Shop) -> socket.socket:
    """A TCP connection to catalog's API port: it must accept one, so that a refusal
    afterwards is the TLS layer's judgement, not a closed or missing port."""
    return socket.create_connection(("127.0.0.1", shop.catalog_port), timeout=5)


def handshake_outcome(shop: Shop, cert: Path | None, key: Path | None = None) -> str:
    """ "accepted" when catalog answers HTTP over TLS with this client certificate, else the
    TLS alert it sent (e.g. TLSV1_ALERT_UNKNOWN_CA). In TLS 1.3 the server judges the
    client's certificate after the client's handshake has finished, so the alert arrives
    on the first read."""
    context = client_ssl_context(shop.pki.ca_cert, cert, key)
    request = f"GET {PRODUCTS} HTTP/1.1\r\nHost: catalog\r\nConnection: close\r\n"
    request += f"x-service-token: {shop.token('frontend')}\r\n\r\n"
    with context.wrap_socket(tcp_connection(shop), server_hostname="127.0.0.1") as tls:
        try:
            tls.sendall(request.encode())
            answer = tls.recv(16)
        except ssl.SSLError as error:
            return str(error.reason)
    assert answer.startswith(b"HTTP/1.1 "), answer
    return "accepted"


def test_plain_http_is_refused(shop: Shop) -> None:
    with tcp_connection(shop) as plain:
        plain.sendall(f"GET {PRODUCTS} HTTP/1.1\r\nHost: catalog\r\n\r\n".encode())
        answer = plain.recv(64)
    assert not answer.startswith(b"HTTP/"), answer  # a TLS alert at most, never a page
    with pytest.raises(httpx.TransportError):
        httpx.get(shop.catalog.replace("https://", "http://") + PRODUCTS, timeout=5)


def test_no_client_certificate_is_refused_at_the_handshake(shop: Shop) -> None:
    assert handshake_outcome(shop, None) == "TLSV13_ALERT_CERTIFICATE_REQUIRED"


def test_a_certificate_from_another_ca_is_refused(shop: Shop, tmp_path: Path) -> None:
    cert, key = write_leaf_files(issue_leaf(issue_ca("Not Mosaic"), "frontend"), tmp_path)
    assert handshake_outcome(shop, cert, key) == "TLSV1_ALERT_UNKNOWN_CA"


def test_an_expired_certificate_is_refused(shop: Shop, tmp_path: Path) -> None:
    ca = shop.pki.load_ca()
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    expired = issue_leaf(ca, "frontend", not_before=past, not_after=past + datetime.timedelta(1))
    cert, key = write_leaf_files(expired, tmp_path)
    assert handshake_outcome(shop, cert, key) == "SSLV3_ALERT_CERTIFICATE_EXPIRED"


def test_the_service_s_own_certificate_is_accepted(shop: Shop) -> None:
    # The refusals above are about the certificates, not a port that refuses everyone.
    files = shop.pki.service("frontend")
    assert handshake_outcome(shop, files.cert, files.key) == "accepted"


def refusal(shop: Shop, client: httpx.Client, token: str | None, path: str = PRODUCTS) -> int:
    headers = {"x-service-token": token} if token is not None else {}
    with client:
        response = client.get(path, headers=headers)
    if response.status_code in (401, 403):
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


def test_no_token_is_401(shop: Shop) -> None:
    assert refusal(shop, shop.as_service("frontend"), None) == 401


def test_an_expired_token_is_401(shop: Shop) -> None:
    stale = shop.token("frontend", issued_at=time.time() - 300)
    assert refusal(shop, shop.as_service("frontend"), stale) == 401


def test_a_token_for_another_audience_is_401(shop: Shop) -> None:
    assert refusal(shop, shop.as_service("frontend"), shop.token("frontend", "cart")) == 401


def test_alg_none_is_401(shop: Shop) -> None:
    unsigned = sign_token(None, issuer="frontend", audience="catalog")
    assert refusal(shop, shop.as_service("frontend"), unsigned) == 401


def test_a_token_signed_by_an_unregistered_key_is_401(shop: Shop) -> None:
    forged = sign_token(new_signing_key(), issuer="frontend", audience="catalog")
    assert refusal(shop, shop.as_service("frontend"), forged) == 401


def test_a_token_not_matching_the_client_certificate_is_401(shop: Shop) -> None:
    # catalog's own, valid token, presented over frontend's certificate.
    assert refusal(shop, shop.as_service("frontend"), shop.token("catalog")) == 401


def test_a_proven_caller_not_on_the_allowlist_is_403(shop: Shop) -> None:
    assert refusal(shop, shop.as_service("catalog"), shop.token("catalog")) == 403


def test_the_allowed_caller_succeeds(shop: Shop) -> None:
    assert refusal(shop, shop.as_service("frontend"), shop.token("frontend")) == 200


def line_after(shop: Shop, mark: int, text: str, timeout: float = 10) -> str:
    """The first line containing `text` among those `up` printed after line `mark`: what
    an earlier test (or an earlier step) logged proves nothing about this one."""
    return shop.up.wait_for_line(lambda line: text in line, timeout, f"{text!r} logged", after=mark)


def test_refusals_are_logged_with_caller_and_route(shop: Shop) -> None:
    mark = len(shop.up.lines)
    refusal(shop, shop.as_service("catalog"), shop.token("catalog"))
    line = line_after(shop, mark, '"caller refused"')
    assert '"caller":"catalog"' in line
    assert '"route":"/v1/products"' in line
    assert '"status":403' in line


def test_a_replayed_token_is_refused_after_it_expires(shop: Shop) -> None:
    short = shop.token("frontend", lifetime=1)
    assert refusal(shop, shop.as_service("frontend"), short) == 200
    time.sleep(1 + LEEWAY + 1)
    assert refusal(shop, shop.as_service("frontend"), short) == 401


def served_serial(shop: Shop, context: ssl.SSLContext) -> int:
    """The serial of the certificate catalog presents to a new connection."""
    client = httpx.Client(base_url=shop.catalog, verify=context, timeout=5)
    with client, client.stream("GET", "/v1/categories") as response:
        stream = response.extensions["network_stream"]
        der = stream.get_extra_info("ssl_object").getpeercert(True)
    return x509.load_der_x509_certificate(der).serial_number


def test_certificates_rotate_under_load_without_a_failed_request(shop: Shop) -> None:
    # The caller's credentials are read once, before the rotation rewrites the files: a
    # caller mid-handshake keeps the certificate it has (still valid, same CA).
    files = shop.pki.service("frontend")
    context = client_ssl_context(shop.pki.ca_cert, files.cert, files.key)
    before = served_serial(shop, context)
    token = shop.token("frontend")
    failures: list[str] = []
    done = threading.Event()
    count = 0

    def load() -> None:
        nonlocal count
        while not done.is_set():
            # A new client each time: new connections, so new handshakes meet new certificates.
            try:
                with httpx.Client(base_url=shop.catalog, verify=context, timeout=5) as client:
                    for _ in range(5):
                        status = client.get(
                            "/v1/categories", headers={"x-service-token": token}
                        ).status_code
                        count += 1
                        if status != 200:
                            failures.append(str(status))
            except httpx.HTTPError as error:
                failures.append(repr(error))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1)
        rotated = mosaic("admin", "rotate-certs", env=shop.up.env, timeout=60)
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        deadline = time.monotonic() + 20
        while served_serial(shop, context) == before and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1)  # more requests on the new certificate
    finally:
        done.set()
        for worker in workers:
            worker.join(timeout=30)
    assert served_serial(shop, context) != before, "catalog still presents the old certificate"
    assert failures == []
    assert count > 50


def test_signing_keys_rotate_without_breaking_calls(shop: Shop) -> None:
    page = shop.shop_url + "/product/brass-compass"
    assert httpx.get(page, timeout=10).status_code == 200
    mark = len(shop.up.lines)
    rotated = mosaic("admin", "rotate-certs", "--signing-keys", env=shop.up.env, timeout=90)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    # Every service picks up its new key and the others' new public keys, live.
    line_after(shop, mark, '"signing key reloaded"', timeout=15)
    line_after(shop, mark, '"trusted keys reloaded"', timeout=15)
    # Old tokens stay valid (the previous key stays trusted); new ones use the new key.
    failures = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = httpx.get(page, timeout=10).status_code
        if status != 200:
            failures.append(status)
        time.sleep(0.25)
    assert failures == []
    called = mosaic("admin", "call", "catalog", "/v1/categories", env=shop.up.env)
    assert called.returncode == 0, called.stderr


def test_the_contract_is_not_served_to_a_certificate_without_a_token(shop: Shop) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        with shop.as_service("frontend") as holder:
            answer = holder.get(path)
        assert answer.status_code in (401, 404), (path, answer.status_code)
        assert '"paths"' not in answer.text
    assert refusal(shop, shop.as_service("frontend"), None, "/openapi.json") == 401
    # A proven service is not the operator either; the operator may read it.
    assert (
        refusal(shop, shop.as_service("frontend"), shop.token("frontend"), "/openapi.json") == 403
    )
    with shop.as_service("admin") as operator:
        spec = operator.get("/openapi.json", headers={"x-service-token": shop.token("admin")})
    assert spec.status_code == 200
    assert PRODUCTS in spec.json()["paths"]


def test_a_signing_key_taken_out_of_the_trust_store_is_refused_at_once(shop: Shop) -> None:
    # The operator's token is proven (403 on a route only frontend may call), so catalog
    # has verified and cached it. Then its key leaves the trust store.
    token = shop.token("admin")
    assert refusal(shop, shop.as_service("admin"), token) == 403
    trusted = shop.pki.service("admin").public_key
    kept = trusted.read_bytes()
    write_atomically(trusted, public_key_pem(new_signing_key()))
    try:  # the services re-read their files every 2 s
        wait_until(
            lambda: refusal(shop, shop.as_service("admin"), token) == 401,
            10,
            "catalog refuses the token of a key no longer trusted (it lives 60 s)",
        )
    finally:
        write_atomically(trusted, kept)
    wait_until(
        lambda: refusal(shop, shop.as_service("admin"), shop.token("admin")) == 403,
        10,
        "the key trusted again",
    )


def test_a_ca_taken_out_of_the_bundle_is_refused_for_new_connections(
    shop: Shop, tmp_path: Path
) -> None:
    partner = issue_ca("Partner CA")
    cert, key = write_leaf_files(issue_leaf(partner, "frontend"), tmp_path)
    bundle = shop.pki.ca_cert
    kept = bundle.read_bytes()
    write_atomically(bundle, kept + partner.cert_pem)
    try:
        wait_until(
            lambda: handshake_outcome(shop, cert, key) == "accepted", 10, "the added CA trusted"
        )
        write_atomically(bundle, kept)
        wait_until(
            lambda: handshake_outcome(shop, cert, key) == "TLSV1_ALERT_UNKNOWN_CA",
            10,
            "the removed CA no longer trusted",
        )
    finally:
        write_atomically(bundle, kept)
    files = shop.pki.service("frontend")
    assert handshake_outcome(shop, files.cert, files.key) == "accepted"
