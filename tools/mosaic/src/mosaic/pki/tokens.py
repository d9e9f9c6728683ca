"""Service tokens and client TLS, as a service's caller presents them.

`mosaic admin call` uses these to call a service by hand; tests use them to build both
good and deliberately bad credentials.
"""

import ssl
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

TOKEN_HEADER = "x-service-token"  # noqa: S105 (a header name, not a secret)
LIFETIME = 60  # seconds: the longest a service token may live


def sign_token(
    key: Ed25519PrivateKey | None,
    *,
    issuer: str,
    audience: str,
    lifetime: float = LIFETIME,
    issued_at: float | None = None,
    jti: str | None = None,
    **claims: Any,
) -> str:
    """An EdDSA JWT `{iss, aud, iat, exp, jti}` signed with `key` (None: `alg: none`).

    `issued_at` (epoch seconds, default now) and `lifetime` make expired or long-lived
    tokens; further keyword arguments are added as claims.
    """
    issued = int(time.time() if issued_at is None else issued_at)
    payload = {
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + int(lifetime),
        "jti": jti or uuid.uuid4().hex,
        **claims,
    }
    if key is None:
        return jwt.encode(payload, "", algorithm="none")
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": issuer})


def client_ssl_context(
    ca_file: Path, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """TLS 1.3 only, trusting servers signed by `ca_file`; presents the client certificate
    `cert_file` + `key_file` when given (without them: a client with no certificate)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cafile=str(ca_file))
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context
