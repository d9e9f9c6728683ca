"""Certificates and keys, in memory: the local CA, a leaf per identity, signing keys.

`mosaic up` issues the platform's own material with these; tests issue bad material with
the same functions (another CA, an expired certificate, a key nobody trusts).
"""

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TRUST_DOMAIN = "mosaic.local"
CA_NAME = "Mosaic local CA"
CA_LIFETIME = datetime.timedelta(days=3650)
LEAF_LIFETIME = datetime.timedelta(days=30)
BACKDATE = datetime.timedelta(minutes=5)  # tolerate clocks a little behind ours
_MUTUAL_TLS = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]


def spiffe_id(name: str) -> str:
    """The identity a service's certificate carries, e.g. spiffe://mosaic.local/catalog."""
    return f"spiffe://{TRUST_DOMAIN}/{name}"


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class _Pem:
    """A certificate and its private key, as the PEM files they are written to."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return private_key_pem(self.key)


@dataclass(frozen=True)
class CA(_Pem):
    """A certificate authority: its self-signed certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Leaf(_Pem):
    """An identity's certificate (signed by a CA) and its private key."""

    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def serial(self) -> str:
        return format(self.cert.serial_number, "x")

    @property
    def not_after(self) -> datetime.datetime:
        return self.cert.not_valid_after_utc


def issue_ca(
    common_name: str = CA_NAME,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> CA:
    """A new self-signed CA (ECDSA P-256) that may sign leaf certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before or now() - BACKDATE
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return CA(cert, key)


def issue_leaf(
    ca: CA,
    name: str,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    uri: str | None = None,
    dns_names: Sequence[str] = (),
) -> Leaf:
    """A certificate for service `name`, for both ends of mTLS (serverAuth + clientAuth).

    SANs: URI `spiffe://mosaic.local/<name>` (or `uri`), DNS `<name>`, DNS `localhost`,
    IP 127.0.0.1, and `dns_names` (a cluster's `<name>.<namespace>.svc`, ...). Valid 30
    days from a few minutes ago unless told otherwise.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or now() - BACKDATE
    sans = x509.SubjectAlternativeName(
        [
            x509.UniformResourceIdentifier(uri or spiffe_id(name)),
            x509.DNSName(name),
            x509.DNSName("localhost"),
            *(x509.DNSName(n) for n in dns_names if n not in (name, "localhost")),
            x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
        ]
    )
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + LEAF_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(_MUTUAL_TLS), critical=False)
        .add_extension(sans, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Leaf(name, cert, key)


def new_signing_key() -> Ed25519PrivateKey:
    """A service's key for signing its service tokens."""
    return Ed25519PrivateKey.generate()


def private_key_pem(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
