"""The local PKI of Mosaic: a CA, a certificate per service, token signing keys.

`ensure_pki(home, services)` creates what is missing under $MOSAIC_HOME/pki (`mosaic up`
calls it before any service starts); `rotate(home, services)` re-issues every certificate
(`mosaic admin rotate-certs`). For tests, the same building blocks make any material,
good or bad:

    other = issue_ca("Someone else's CA")
    stranger = issue_leaf(other, "frontend")                 # a certificate we do not trust
    expired = issue_leaf(ca, "frontend", not_before=..., not_after=...)
    write_leaf_files(stranger, tmp_path / "stranger")        # -> (tls.crt, tls.key)
    token = sign_token(new_signing_key(), issuer="frontend", audience="catalog")
"""

from pathlib import Path

from mosaic.pki.files import Pki, ServiceFiles, load_signing_key, write_atomically
from mosaic.pki.issuing import (
    CA,
    CA_NAME,
    LEAF_LIFETIME,
    TRUST_DOMAIN,
    Leaf,
    issue_ca,
    issue_leaf,
    new_signing_key,
    private_key_pem,
    public_key_pem,
    spiffe_id,
)
from mosaic.pki.lifecycle import RENEW_WITHIN, Issued, ensure_pki, rotate
from mosaic.pki.tokens import TOKEN_HEADER, client_ssl_context, sign_token


def write_leaf_files(leaf: Leaf, folder: Path) -> tuple[Path, Path]:
    """Write a leaf as `folder/tls.crt` and `folder/tls.key` (0600); returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "tls.crt", folder / "tls.key"
    write_atomically(key, leaf.key_pem, private=True)
    write_atomically(cert, leaf.cert_pem)
    return cert, key


__all__ = [
    "CA",
    "CA_NAME",
    "LEAF_LIFETIME",
    "RENEW_WITHIN",
    "TOKEN_HEADER",
    "TRUST_DOMAIN",
    "Issued",
    "Leaf",
    "Pki",
    "ServiceFiles",
    "client_ssl_context",
    "ensure_pki",
    "issue_ca",
    "issue_leaf",
    "load_signing_key",
    "new_signing_key",
    "private_key_pem",
    "public_key_pem",
    "rotate",
    "sign_token",
    "spiffe_id",
    "write_leaf_files",
]
