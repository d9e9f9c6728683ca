"""Helpers for tests of services built on the chassis: service keys and tokens.

Real keys and real signatures (no fakes): tests of a service run it in-process behind the
`mesh` transport, where TLS is someone else's job but every call still carries a token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from chassis.tokens import TokenSigner


class ServiceKeys:
    """Ed25519 keys for some service names: private keys in `folder/<name>.key`, public keys
    in `folder/trust/<name>.pub` (the trust directory a callee is configured with)."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder = folder
        self.trust_dir = folder / "trust"
        self.trust_dir.mkdir(parents=True, exist_ok=True)
        self._signers: dict[str, TokenSigner] = {}
        for name in names:
            key = Ed25519PrivateKey.generate()
            self.key_file(name).write_bytes(
                key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            )
            (self.trust_dir / f"{name}.pub").write_bytes(
                key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            )
            self._signers[name] = TokenSigner(name, key)

    def key_file(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def token(self, caller: str, audience: str) -> str:
        return self._signers[caller].token_for(audience)

    def headers(self, caller: str, audience: str) -> dict[str, str]:
        return {"x-service-token": self.token(caller, audience)}


def run_alembic(
    service_dir: Path, database_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run a service's Alembic as its release phase does: from the service folder, in a
    process of its own, with DATABASE_URL in the env (e.g. `"upgrade", "head"`)."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=service_dir,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
