"""Service identity on Cloud Run (`TRANSPORT_SECURITY=cloudrun`): Google's IAM in place of our
client certificates; our service tokens and allowlists unchanged.

Cloud Run presents no client certificate and sets no `x-forwarded-client-cert`. What it
does: a service with IAM on (no `allUsers` invoker) admits a request only with a
Google-signed ID token whose audience is the service's URL and whose service account holds
`roles/run.invoker` on it, in `X-Serverless-Authorization` (checked first when present) or
`Authorization`. We use the first: `Authorization` already carries shoppers' access tokens
between our services, and Cloud Run passes it through untouched when the other is there.
It removes the token's signature before passing it on to the container (the value arrives as
`header.payload.SIGNATURE_REMOVED_BY_GOOGLE`), so what reaches us is a token we cannot verify
again and need not: the platform did. Its `email` claim says which service account called.

So a caller asks the metadata server for an ID token for the callee's URL (`format=full`, or
the token carries no `email`) and sends it beside our signed `x-service-token`; the callee
requires that the token's issuer `<svc>` is the caller Google proved,
`mosaic-<svc>@<project>.iam.gserviceaccount.com`: a stolen service token is useless from another
service account, as under mTLS it is useless over another certificate.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from urllib.parse import urlencode

import aiohttp
import orjson

METADATA_FLAVOR = {"Metadata-Flavor": "Google"}
IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"
# Cloud Run's IAM header; `Authorization` stays the shoppers' (a header name, not a secret).
ID_TOKEN_HEADER = "x-serverless-authorization"  # noqa: S105
# Google's ID tokens live an hour; one is fetched again when less than this is left, so a
# token never expires in flight and the metadata server sees about one call per callee an hour.
REFRESH_MARGIN = 300.0
# Service account ids take 6 to 30 characters: `cart` and the operator's `admin` alone are too
# short; the prefix also tells the shop's accounts from the project's others.
ACCOUNT_PREFIX = "mosaic-"
FETCH_TIMEOUT = 2.0


class IdTokenUnavailable(Exception):
    """The metadata server gave no usable ID token."""


def service_account(service: str, project: str) -> str:
    """The service account a service runs as on Cloud Run, named after the service."""
    return f"{ACCOUNT_PREFIX}{service}@{project}.iam.gserviceaccount.com"


def _claims(token: str) -> dict[str, object] | None:
    """The payload of a JWT (`header.payload[.signature]`), not verified: on Cloud Run the
    platform verified it and removed the signature."""
    parts = token.split(".")
    if len(parts) not in (2, 3):
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def caller_email(authorization: str) -> str | None:
    """The `email` of the Bearer ID token Cloud Run let through (the value of its header),
    or None."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    claims = _claims(token.strip())
    email = claims.get("email") if claims else None
    return email if isinstance(email, str) and email else None


class IdTokens:
    """Google-signed ID tokens for this service's account, one per audience (the callee's
    URL), from the metadata server; each reused until REFRESH_MARGIN before it expires."""

    def __init__(self, metadata_url: str) -> None:
        self.metadata_url = metadata_url.rstrip("/")
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()  # concurrent first calls fetch once, not once each

    async def token_for(self, audience: str, session: aiohttp.ClientSession) -> str:
        if (fresh := self._fresh(audience)) is not None:
            return fresh
        async with self._lock:
            if (fresh := self._fresh(audience)) is not None:  # fetched while we waited
                return fresh
            token, expires = await self._fetch(audience, session)
            self._tokens[audience] = (token, expires)
            return token

    def _fresh(self, audience: str) -> str | None:
        cached = self._tokens.get(audience)
        if cached is not None and cached[1] - time.time() > REFRESH_MARGIN:
            return cached[0]
        return None

    async def _fetch(self, audience: str, session: aiohttp.ClientSession) -> tuple[str, float]:
        query = urlencode({"audience": audience, "format": "full"})
        url = f"{self.metadata_url}{IDENTITY_PATH}?{query}"
        try:
            async with session.get(
                url, headers=METADATA_FLAVOR, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
            ) as answer:
                body = (await answer.read()).decode("ascii", "replace").strip()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as error:
            reason = f"metadata server unreachable ({type(error).__name__})"
            raise IdTokenUnavailable(reason) from None
        if status != 200:
            raise IdTokenUnavailable(f"metadata server answered {status}")
        claims = _claims(body)
        expires = claims.get("exp") if claims else None
        if not isinstance(expires, int | float):
            raise IdTokenUnavailable("metadata server sent no ID token")
        return body, float(expires)
