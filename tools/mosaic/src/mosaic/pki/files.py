"""Where the PKI lives under $MOSAIC_HOME/pki, and how its files are written and read.

    pki/ca.crt, pki/ca.key                       the local CA
    pki/services/<name>/tls.crt, tls.key         the service's certificate and its key
    pki/services/<name>/signing.key              its Ed25519 key for service tokens
    pki/trust/<name>.pub                         its public key(s): the token trust store

Every file is written to a temporary name and renamed into place, so a service that
reloads it meanwhile reads the old file or the new one, never half of one. Private keys
are created 0600, folders holding them 0700.
"""

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mosaic.pki.issuing import CA, Leaf

_PUBLIC_KEY_PEM = re.compile(
    rb"-----BEGIN PUBLIC KEY-----\r?\n.+?-----END PUBLIC KEY-----\r?\n?", re.DOTALL
)


@dataclass(frozen=True)
class ServiceFiles:
    """The files of one service, as the runner hands them over in its environment."""

    name: str
    folder: Path
    trust_dir: Path
    ca_cert: Path

    @property
    def cert(self) -> Path:
        return self.folder / "tls.crt"

    @property
    def key(self) -> Path:
        return self.folder / "tls.key"

    @property
    def signing_key(self) -> Path:
        return self.folder / "signing.key"

    @property
    def public_key(self) -> Path:
        return self.trust_dir / f"{self.name}.pub"


@dataclass(frozen=True)
class Pki:
    """The layout of one PKI folder (`Pki.of(home)` for $MOSAIC_HOME/pki)."""

    root: Path

    @classmethod
    def of(cls, home: Path) -> "Pki":
        return cls(home / "pki")

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    def service(self, name: str) -> ServiceFiles:
        return ServiceFiles(name, self.root / "services" / name, self.trust_dir, self.ca_cert)

    def exists(self) -> bool:
        return self.ca_cert.is_file() and self.ca_key.is_file()

    def prepare(self) -> None:
        """Create the folders: pki/ and the service folders 0700, trust/ readable."""
        for folder, mode in (
            (self.root, 0o700),
            (self.root / "services", 0o700),
            (self.trust_dir, 0o755),
        ):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(mode)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time (`up` and `admin rotate-certs` may run together)."""
        self.prepare()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # drops the lock

    def load_ca(self) -> CA:
        key = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.ca_key} is not an EC private key")
        return CA(x509.load_pem_x509_certificate(self.ca_cert.read_bytes()), key)

    def write_ca(self, ca: CA) -> None:
        write_atomically(self.ca_key, ca.key_pem, private=True)
        write_atomically(self.ca_cert, ca.cert_pem)


def load_leaf(files: ServiceFiles) -> Leaf:
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{files.key} is not an EC private key")
    return Leaf(files.name, x509.load_pem_x509_certificate(files.cert.read_bytes()), key)


def write_leaf(files: ServiceFiles, leaf: Leaf) -> None:
    """Key first, then certificate: a reader that catches the pair half-replaced fails to
    load it and tries again at its next poll, instead of serving a mismatched pair."""
    make_private_folder(files.folder)
    write_atomically(files.key, leaf.key_pem, private=True)
    write_atomically(files.cert, leaf.cert_pem)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public_keys(path: Path) -> list[Ed25519PublicKey]:
    """Every key of a trust file (it holds the current key, and the previous one for a
    while after a rotation); [] when the file is missing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    keys = []
    for block in _PUBLIC_KEY_PEM.findall(data):
        key = serialization.load_pem_public_key(block)
        if isinstance(key, Ed25519PublicKey):
            keys.append(key)
    return keys


def make_private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)


def write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write to a temporary file beside `path`, flush it to disk, rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # A private file is created 0600 from the start, never readable by others even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o600 if private else 0o644)  # also when an older tmp file was left over
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
