"""The platform's own PKI: created and repaired on every `mosaic up`, rotated on demand."""

import datetime
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mosaic.errors import MosaicError
from mosaic.pki.files import (
    Pki,
    ServiceFiles,
    load_leaf,
    load_public_keys,
    load_signing_key,
    write_atomically,
    write_leaf,
)
from mosaic.pki.issuing import CA, issue_ca, issue_leaf, new_signing_key, now, spiffe_id
from mosaic.pki.issuing import private_key_pem as _private_pem

RENEW_WITHIN = datetime.timedelta(days=7)  # `up` re-issues a certificate this close to expiry


@dataclass(frozen=True)
class Issued:
    """One piece of material written: what, for whom, and why."""

    kind: str  # "ca", "certificate" or "signing key"
    name: str  # the service, or "ca"
    reason: str  # "missing", "expires 2025-01-31", "rotated", ...
    serial: str | None = None  # certificates only, hex
    not_after: datetime.datetime | None = None

    def describe(self) -> str:
        detail = f", serial {self.serial}" if self.serial else ""
        if self.not_after is not None:
            detail += f", valid until {self.not_after:%Y-%m-%d %H:%M} UTC"
        return f"{self.kind} of {self.name} ({self.reason}{detail})"


def ensure_pki(
    home: Path,
    services: Iterable[str],
    *,
    renew_within: datetime.timedelta = RENEW_WITHIN,
    dns_names: Callable[[str], list[str]] = lambda name: [],
) -> list[Issued]:
    """Create whatever is missing or unusable; keep everything else as it is.

    Unusable: unreadable, a key that does not match its certificate, a certificate not
    signed by the current CA or for another identity, one without a DNS name of
    `dns_names(service)` (its names in a cluster), or one that expires within
    `renew_within`. A new CA (first run, or the old one lost) re-issues every certificate.
    """
    pki = Pki.of(home)
    issued: list[Issued] = []
    with pki.locked():
        ca, why = _usable_ca(pki, renew_within)
        if ca is None:
            ca = issue_ca()
            pki.write_ca(ca)
            issued.append(_ca_issued(ca, why))
        for name in services:
            files, names = pki.service(name), dns_names(name)
            if why := _leaf_problem(files, ca, renew_within, names):
                issued.append(_issue_leaf(files, ca, why, names))
            if why := _signing_key_problem(files):
                key = new_signing_key()
                _publish(files, [key.public_key()])
                write_atomically(files.signing_key, _private_pem(key), private=True)
                issued.append(Issued("signing key", name, why))
            else:
                _repair_trust(files)
    return issued


def rotate(
    home: Path,
    services: Iterable[str],
    *,
    signing_keys: bool = False,
    publish_wait: float = 0.0,
) -> list[Issued]:
    """Re-issue every service's certificate and key, signed by the same CA.

    With `signing_keys`, also new token signing keys: first every new public key joins its
    trust file (beside the current one), then, `publish_wait` seconds later (time for
    running services to reload their trust stores), the private keys change. The previous
    public key stays trusted until the next rotation, so tokens already signed keep working.
    """
    pki = Pki.of(home)
    names = list(services)
    if not pki.exists():
        raise MosaicError(
            f"there is no CA under {pki.root} yet",
            "Run `mosaic up` once: it creates the CA and every service's certificate.",
        )
    issued: list[Issued] = []
    with pki.locked():
        try:
            ca = pki.load_ca()
        except (OSError, ValueError) as error:
            raise MosaicError(
                f"the CA under {pki.root} cannot be read: {error}",
                "Restore ca.crt and ca.key, or remove the pki folder and run `mosaic up` "
                "(every service then gets new material).",
            ) from None
        for name in names:
            issued.append(_issue_leaf(pki.service(name), ca, "rotated"))
        if signing_keys:
            new_keys = {name: new_signing_key() for name in names}
            for name, key in new_keys.items():
                files = pki.service(name)
                _publish(files, [key.public_key(), *_current_public_keys(files)[:1]])
            time.sleep(publish_wait)
            for name, key in new_keys.items():
                files = pki.service(name)
                write_atomically(files.signing_key, _private_pem(key), private=True)
                issued.append(Issued("signing key", name, "rotated"))
    return issued


def _usable_ca(pki: Pki, renew_within: datetime.timedelta) -> tuple[CA | None, str]:
    if not pki.exists():
        return None, "missing"
    try:
        ca = pki.load_ca()
    except (OSError, ValueError):
        return None, "unreadable"
    if ca.cert.public_key() != ca.key.public_key():
        return None, "key does not match"
    if ca.cert.not_valid_after_utc - now() < renew_within:
        return None, f"expires {ca.cert.not_valid_after_utc:%Y-%m-%d}"
    return ca, ""


def _leaf_problem(
    files: ServiceFiles, ca: CA, renew_within: datetime.timedelta, dns_names: list[str]
) -> str:
    """Why this service needs a new certificate, or "" when it does not."""
    if not (files.cert.is_file() and files.key.is_file()):
        return "missing"
    try:
        leaf = load_leaf(files)
    except (OSError, ValueError):
        return "unreadable"
    if leaf.cert.public_key() != leaf.key.public_key():
        return "key does not match"
    try:
        leaf.cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return "not signed by the current CA"
    try:
        sans = leaf.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no identity"
    if spiffe_id(files.name) not in sans.get_values_for_type(x509.UniformResourceIdentifier):
        return "another identity"
    if missing := set(dns_names) - set(sans.get_values_for_type(x509.DNSName)):
        return f"without DNS name {', '.join(sorted(missing))}"
    if leaf.not_after - now() < renew_within:
        return f"expires {leaf.not_after:%Y-%m-%d}"
    return ""


def _signing_key_problem(files: ServiceFiles) -> str:
    if not files.signing_key.is_file():
        return "missing"
    try:
        load_signing_key(files.signing_key)
    except (OSError, ValueError):
        return "unreadable"
    return ""


def _repair_trust(files: ServiceFiles) -> None:
    """Publish the service's public key again if its trust file lost it."""
    public = load_signing_key(files.signing_key).public_key()
    trusted = _current_public_keys(files)
    if public not in trusted:
        _publish(files, [public, *trusted[:1]])


def _issue_leaf(files: ServiceFiles, ca: CA, reason: str, dns_names: Sequence[str] = ()) -> Issued:
    leaf = issue_leaf(ca, files.name, dns_names=dns_names)
    write_leaf(files, leaf)
    return Issued("certificate", files.name, reason, leaf.serial, leaf.not_after)


def _ca_issued(ca: CA, reason: str) -> Issued:
    serial = format(ca.cert.serial_number, "x")
    return Issued("ca", "ca", reason, serial, ca.cert.not_valid_after_utc)


def _current_public_keys(files: ServiceFiles) -> list[Ed25519PublicKey]:
    try:
        return load_public_keys(files.public_key)
    except ValueError:
        return []  # an unreadable trust file is replaced


def _publish(files: ServiceFiles, keys: list[Ed25519PublicKey]) -> None:
    """Write the trust file: the service's current public key first (a reader that takes
    only the first key takes that one), then the previous one during a rotation."""
    pem = b"".join(
        k.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        for k in keys
    )
    write_atomically(files.public_key, pem)
