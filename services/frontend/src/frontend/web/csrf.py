"""CSRF tokens that cost no server-side storage: a signed double-submit cookie (OWASP).

The browser holds a random value in its own cookie (`csrf`, or `__Host-csrf` over https);
each form carries HMAC-SHA256(CSRF_SECRET, that value). A post is accepted only when its
token is the signature of the cookie it came with: a cross-site page can make the browser
send the cookie but cannot read it, and cannot sign a value without the secret. So an
anonymous visitor's forms work before anything is stored for them in Valkey, and every
replica checks a token without a round trip. The cookie is HttpOnly and SameSite=Lax; over
https the `__Host-` prefix keeps a sibling domain or a plain-http page from planting one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

COOKIE = "csrf"  # `__Host-csrf` over https (sessions.cookie_name)
# What `new_value` makes: 32 random bytes, base64url. Anything else is replaced, not signed.
_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_value() -> str:
    return secrets.token_urlsafe(32)


def is_value(text: str | None) -> bool:
    return text is not None and _VALUE.fullmatch(text) is not None


class CookieSigner:
    """HMAC-SHA256 under CSRF_SECRET, with one derived key per use, so a signature made for
    one (a CSRF token) is never valid as another (a sealed flash cookie)."""

    def __init__(self, secret: bytes) -> None:
        self._csrf = hmac.new(secret, b"mosaic frontend csrf", hashlib.sha256).digest()
        self._seal = hmac.new(secret, b"mosaic frontend sealed cookie", hashlib.sha256).digest()

    def token(self, value: str) -> str:
        """The CSRF token of forms shown to the holder of the cookie `value`."""
        return _b64(hmac.new(self._csrf, value.encode(), hashlib.sha256).digest())

    def seal(self, payload: bytes) -> str:
        """`payload` in a cookie-safe form that only this secret could have made."""
        body = _b64(payload)
        return body + "." + _b64(hmac.new(self._seal, body.encode(), hashlib.sha256).digest())

    def unseal(self, text: str) -> bytes | None:
        """What `seal` made, or None for anything else (altered, truncated, foreign)."""
        body, _, signature = text.partition(".")
        expected = _b64(hmac.new(self._seal, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
