"""A file renamed over another within one clock tick (same mtime, same size) is still
noticed: the certificates, the trust store and the signing key all watch it so."""

from __future__ import annotations

import os
from pathlib import Path

from chassis.rotation import file_stamp
from chassis.security import Credentials
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _replace_keeping_mtime(path: Path, content: bytes) -> None:
    """As the issuer replaces a file (a rename), within the old file's clock tick."""
    old = path.stat()
    fresh = path.with_name(path.name + ".new")
    fresh.write_bytes(content)
    os.utime(fresh, ns=(old.st_atime_ns, old.st_mtime_ns))
    fresh.replace(path)
    assert (path.stat().st_mtime_ns, path.stat().st_size) == (old.st_mtime_ns, old.st_size)


def test_a_file_renamed_over_within_one_tick_has_a_new_stamp(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(b"old")
    before = file_stamp(path)
    assert file_stamp(path) == before  # unchanged: the same stamp
    _replace_keeping_mtime(path, b"new")
    assert file_stamp(path) != before


def test_a_signing_key_renamed_over_within_one_tick_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "orders.key"
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    path.write_bytes(_pem(old))
    credentials = Credentials(
        "orders", transport="mesh", tls_files=None, signing_key=path, trust_dir=None
    )
    _replace_keeping_mtime(path, _pem(new))
    credentials._reload_signing_key()
    assert credentials.signer is not None
    public = credentials.signer.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert public == new.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
