"""Form posts: reading an urlencoded body, and refusing it without the visitor's CSRF token.

Every state-changing form carries the visitor's token (signed from their CSRF cookie, see
frontend.web.csrf) in a hidden `csrf_token` field; a post without it, or with another one, is
refused with a 403 page (compared in constant time). SameSite=Lax on the cookies is the
second line, not the only one.
"""

import hmac
from urllib.parse import parse_qsl, urlsplit

from fastapi import HTTPException, Request

from frontend.web.sessions import Session

FIELD = "csrf_token"
MAX_FIELDS = 40


class CsrfRejected(Exception):
    """The post did not carry this visitor's CSRF token."""


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded post (first value of each name); 400 when it is not one.

    The body's type and size were checked on the way in (chassis.limits: 415 for any other
    type, 413 past MAX_BODY_BYTES, counted as it streams in here)."""
    body = await request.body()
    if not body:
        return {}  # an empty post: no fields, so no CSRF token either (a 403, not a 400)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "That form submission isn't one we understand.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


async def checked_form(request: Request) -> dict[str, str]:
    fields = await read_form(request)
    expected = session_of(request).csrf_token
    given = fields.get(FIELD, "")
    if not expected:
        raise CsrfRejected
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRejected
    return fields


MAX_PATH_LENGTH = 500


def local_path(value: str | None, default: str = "/") -> str:
    """A path on this site to go back to; anything else is `default` (no open redirect).

    Only a plain absolute path qualifies: not `https://...`, `//host`, a backslash anywhere
    (browsers read `/\\host` as `//host`), `javascript:`, nor control characters (browsers
    drop a tab or newline, so `/<tab>/host` would become `//host`).
    """
    if not value or len(value) > MAX_PATH_LENGTH or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
