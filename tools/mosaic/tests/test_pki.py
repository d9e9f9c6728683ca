"""The local PKI: what `mosaic up` issues, that it keeps what exists, and rotation.

Certificates are checked with cryptography's path validation (as a server and as a client
would verify them) and with a real TLS 1.3 handshake through OpenSSL."""

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import stat
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    DNSName,
    IPAddress,
    PolicyBuilder,
    Store,
    VerificationError,
)
from mosaic.errors import MosaicError
from mosaic.pki import (
    Pki,
    client_ssl_context,
    ensure_pki,
    issue_ca,
    issue_leaf,
    load_signing_key,
    new_signing_key,
    rotate,
    sign_token,
    spiffe_id,
    write_leaf_files,
)
from mosaic.pki.files import load_public_keys, write_leaf

SERVICES = ["catalog", "frontend"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def test_first_run_creates_the_ca_and_material_per_service(tmp_path: Path) -> None:
    issued = ensure_pki(tmp_path, SERVICES)

    pki = Pki.of(tmp_path)
    assert [(i.kind, i.name) for i in issued] == [
        ("ca", "ca"),
        ("certificate", "catalog"),
        ("signing key", "catalog"),
        ("certificate", "frontend"),
        ("signing key", "frontend"),
    ]
    assert mode(pki.root) == 0o700
    assert mode(pki.ca_key) == 0o600
    ca = cert(pki.ca_cert)
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Mosaic local CA"
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for name in SERVICES:
        files = pki.service(name)
        assert mode(files.folder) == 0o700
        assert mode(files.key) == mode(files.signing_key) == 0o600
        assert not (files.key.stat().st_mode & 0o077)
        key = load_signing_key(files.signing_key)
        assert isinstance(key, Ed25519PrivateKey)
        assert files.signing_key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        assert load_public_keys(files.public_key) == [key.public_key()]
        assert files.public_key.parent == pki.trust_dir
    assert not list(pki.root.rglob("*.tmp"))


def test_a_service_certificate_says_who_it_is_and_what_it_is_for(tmp_path: Path) -> None:
    ensure_pki(tmp_path, ["catalog"])
    leaf = cert(Pki.of(tmp_path).service("catalog").cert)

    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://mosaic.local/catalog"
    ]
    assert sans.get_values_for_type(x509.DNSName) == ["catalog", "localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("127.0.0.1")]
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == datetime.timedelta(days=30)
    assert leaf.not_valid_before_utc <= now() < leaf.not_valid_after_utc
    assert leaf.serial_number.bit_length() > 64  # random, not counted


def test_the_chain_verifies_for_servers_and_clients(tmp_path: Path) -> None:
    ensure_pki(tmp_path, ["catalog"])
    pki = Pki.of(tmp_path)
    leaf, ca = cert(pki.service("catalog").cert), cert(pki.ca_cert)
    builder = PolicyBuilder().store(Store([ca]))

    for subject in (
        DNSName("catalog"),
        DNSName("localhost"),
        IPAddress(ipaddress.ip_address("127.0.0.1")),
    ):
        chain = builder.build_server_verifier(subject).verify(leaf, [])
        assert chain[-1] == ca
    client = builder.build_client_verifier().verify(leaf, [])
    assert client.chain[-1] == ca
    assert x509.UniformResourceIdentifier(spiffe_id("catalog")) in (client.subjects or [])

    stranger = issue_leaf(issue_ca("Someone else"), "catalog").cert
    with pytest.raises(VerificationError):
        builder.build_client_verifier().verify(stranger, [])
    expired = issue_leaf(
        pki.load_ca(),
        "catalog",
        not_before=now() - datetime.timedelta(days=40),
        not_after=now() - datetime.timedelta(days=10),
    ).cert
    with pytest.raises(VerificationError):
        builder.build_client_verifier().verify(expired, [])


def test_up_again_keeps_everything_and_adds_only_what_is_missing(tmp_path: Path) -> None:
    ensure_pki(tmp_path, SERVICES)
    before = snapshot(tmp_path)

    assert ensure_pki(tmp_path, SERVICES) == []
    assert snapshot(tmp_path) == before

    issued = ensure_pki(tmp_path, [*SERVICES, "orders"])
    assert [(i.kind, i.name, i.reason) for i in issued] == [
        ("certificate", "orders", "missing"),
        ("signing key", "orders", "missing"),
    ]
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if "orders" not in k} == before


def test_unusable_certificates_are_reissued(tmp_path: Path) -> None:
    ensure_pki(tmp_path, ["catalog", "cart", "orders", "shipping"])
    pki = Pki.of(tmp_path)
    ca = pki.load_ca()
    soon = now() + datetime.timedelta(days=3)
    write_leaf(pki.service("catalog"), issue_leaf(ca, "catalog", not_after=soon))
    write_leaf(pki.service("cart"), issue_leaf(issue_ca("Another CA"), "cart"))
    write_leaf(pki.service("orders"), issue_leaf(ca, "shipping"))
    pki.service("shipping").key.unlink()
    signing_key = pki.service("catalog").signing_key.read_bytes()

    issued = ensure_pki(tmp_path, ["catalog", "cart", "orders", "shipping"])

    reasons = {i.name: i.reason for i in issued}
    assert reasons == {
        "catalog": f"expires {soon:%Y-%m-%d}",
        "cart": "not signed by the current CA",
        "orders": "another identity",
        "shipping": "missing",
    }
    assert all(i.kind == "certificate" for i in issued)
    assert cert(pki.service("catalog").cert).not_valid_after_utc > now() + datetime.timedelta(
        days=29
    )
    assert pki.service("catalog").signing_key.read_bytes() == signing_key


def test_a_lost_ca_means_new_certificates_for_everyone(tmp_path: Path) -> None:
    ensure_pki(tmp_path, SERVICES)
    pki = Pki.of(tmp_path)
    pki.ca_key.unlink()

    issued = ensure_pki(tmp_path, SERVICES)

    assert [(i.kind, i.name) for i in issued] == [
        ("ca", "ca"),
        ("certificate", "catalog"),
        ("certificate", "frontend"),
    ]
    for name in SERVICES:
        cert(pki.service(name).cert).verify_directly_issued_by(cert(pki.ca_cert))


def test_a_lost_public_key_is_published_again(tmp_path: Path) -> None:
    ensure_pki(tmp_path, ["catalog"])
    files = Pki.of(tmp_path).service("catalog")
    files.public_key.unlink()

    assert ensure_pki(tmp_path, ["catalog"]) == []
    assert load_public_keys(files.public_key) == [load_signing_key(files.signing_key).public_key()]


def test_rotation_reissues_every_certificate_under_the_same_ca(tmp_path: Path) -> None:
    ensure_pki(tmp_path, SERVICES)
    pki = Pki.of(tmp_path)
    before = snapshot(tmp_path)
    old = {name: cert(pki.service(name).cert) for name in SERVICES}

    issued = rotate(tmp_path, SERVICES)

    assert [(i.kind, i.name, i.reason) for i in issued] == [
        ("certificate", "catalog", "rotated"),
        ("certificate", "frontend", "rotated"),
    ]
    after = snapshot(tmp_path)
    assert after["pki/ca.crt"] == before["pki/ca.crt"]
    assert after["pki/ca.key"] == before["pki/ca.key"]
    for item, name in zip(issued, SERVICES, strict=True):
        files = pki.service(name)
        new = cert(files.cert)
        assert new.serial_number != old[name].serial_number
        assert item.serial == format(new.serial_number, "x")
        assert item.not_after == new.not_valid_after_utc
        assert new.public_key() != old[name].public_key()
        new.verify_directly_issued_by(cert(pki.ca_cert))
        assert mode(files.key) == 0o600
        for kept in (files.signing_key, files.public_key):  # no --signing-keys: kept
            assert after[str(kept.relative_to(tmp_path))] == before[str(kept.relative_to(tmp_path))]
    assert ensure_pki(tmp_path, SERVICES) == []


def test_rotating_signing_keys_trusts_the_new_key_before_it_is_used(tmp_path: Path) -> None:
    ensure_pki(tmp_path, ["catalog"])
    files = Pki.of(tmp_path).service("catalog")
    first = load_signing_key(files.signing_key).public_key()

    issued = rotate(tmp_path, ["catalog"], signing_keys=True)

    assert [(i.kind, i.name) for i in issued] == [
        ("certificate", "catalog"),
        ("signing key", "catalog"),
    ]
    second = load_signing_key(files.signing_key).public_key()
    assert second != first
    assert mode(files.signing_key) == 0o600
    # The current key first (a reader taking one key takes that), the previous one after it.
    assert load_public_keys(files.public_key) == [second, first]

    rotate(tmp_path, ["catalog"], signing_keys=True)
    third = load_signing_key(files.signing_key).public_key()
    assert load_public_keys(files.public_key) == [third, second]


def test_rotation_needs_a_ca(tmp_path: Path) -> None:
    with pytest.raises(MosaicError, match="no CA") as error:
        rotate(tmp_path, SERVICES)
    assert "mosaic up" in error.value.hint


def test_tokens_are_eddsa_jwts_that_live_at_most_a_minute() -> None:
    key = new_signing_key()
    token = sign_token(key, issuer="frontend", audience="catalog")

    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    claims = jwt.decode(token, key.public_key(), algorithms=["EdDSA"], audience="catalog")
    assert claims["iss"] == "frontend"
    assert claims["exp"] - claims["iat"] == 60
    assert len(claims["jti"]) >= 16
    assert sign_token(key, issuer="frontend", audience="catalog") != token  # a new jti

    expired = sign_token(key, issuer="frontend", audience="catalog", issued_at=0)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, key.public_key(), algorithms=["EdDSA"], audience="catalog")
    unsigned = sign_token(None, issuer="frontend", audience="catalog")
    assert jwt.get_unverified_header(unsigned)["alg"] == "none"


async def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> str:
    """Connect client to a real TLS server on 127.0.0.1; the client identity it saw."""
    seen: list[str] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        seen.extend(v for k, v in peer.get("subjectAltName", ()) if k == "URI")
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=server)
    port = listening.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
        try:
            assert writer.get_extra_info("ssl_object").version() == "TLSv1.3"
            # In TLS 1.3 the server checks the client's certificate after the client has
            # finished its handshake: a refused client learns it from the connection closing.
            if await reader.read() != b"ok":
                raise ConnectionResetError("the server closed the connection")
        finally:
            writer.close()
            with contextlib.suppress(ssl.SSLError, ConnectionError):
                await writer.wait_closed()
    finally:
        listening.close()
        await listening.wait_closed()
    return seen[0]


def server_context(pki: Pki, name: str) -> ssl.SSLContext:
    files = pki.service(name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(files.cert), str(files.key))
    return context


async def test_the_material_works_for_mutual_tls(tmp_path: Path) -> None:
    ensure_pki(tmp_path, SERVICES)
    pki = Pki.of(tmp_path)
    frontend = pki.service("frontend")
    good = client_ssl_context(pki.ca_cert, frontend.cert, frontend.key)

    assert await handshake(server_context(pki, "catalog"), good) == spiffe_id("frontend")

    stranger = write_leaf_files(issue_leaf(issue_ca("Another CA"), "frontend"), tmp_path / "x")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await handshake(server_context(pki, "catalog"), client_ssl_context(pki.ca_cert, *stranger))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await handshake(server_context(pki, "catalog"), client_ssl_context(pki.ca_cert))
