"""Shopper sessions in Valkey, so any replica serves any request (no sticky affinity).

The browser holds only an opaque random id in a cookie; the data (currency, CSRF token,
flash messages, the signed-in user's tokens) lives under `frontend:session:<id>` with a
sliding idle expiry. An id the browser brings that Valkey does not know is never adopted:
the shopper gets a fresh one, so nobody can plant a session id on someone else.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from chassis import Cache, get_logger
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontend.client_address import Network, is_trusted_peer

COOKIE = "session"
SECURE_COOKIE = "__Host-session"  # Secure, Path=/, no Domain: bound to this exact origin
# Routes that never read or change a session: no Valkey round trip, no Set-Cookie on
# responses that browsers and proxies cache.
SESSIONLESS_PREFIXES = ("/static/", "/pictures/")
# Valkey unreachable, refusing or timing out: every page needs the session, so the shop
# answers "try again shortly" (a 503 page) rather than a 500.
STORE_FAILURES = (RedisError, OSError)

_log = get_logger("frontend.sessions")

UnavailablePage = Callable[[Request], Awaitable[Response]]


def new_id() -> str:
    return secrets.token_urlsafe(32)


class Session:
    """One shopper's data for one request; saved by the middleware when it changed."""

    def __init__(self, session_id: str, data: dict[str, Any], *, new: bool) -> None:
        self.id = session_id
        self.data = data
        self.new = new
        self.modified = False
        self.replaced_id: str | None = None  # the id to delete after `renew()`

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.modified = True

    def pop(self, key: str, default: Any = None) -> Any:
        if key in self.data:
            self.modified = True
        return self.data.pop(key, default)

    def renew(self) -> None:
        """A new id for the same data (at sign-in): an id seen before sign-in is worthless."""
        if self.replaced_id is None and not self.new:
            self.replaced_id = self.id
        self.id = new_id()
        self.new = True
        self.modified = True

    def clear(self) -> None:
        """Forget everything (at sign-out) under a new id; the old id ends with it."""
        self.data = {}
        self.renew()

    def flash(self, message: str, kind: str = "info") -> None:
        self["flashes"] = [*self.get("flashes", []), [kind, message]]

    def take_flashes(self) -> list[tuple[str, str]]:
        """Messages to show once: taking them removes them."""
        return [(kind, text) for kind, text in self.pop("flashes", [])]


class SessionStore:
    """Sessions as JSON strings in Valkey; reading one slides its expiry forward."""

    def __init__(self, cache: Cache, *, idle_seconds: int) -> None:
        self.cache = cache
        self.idle_seconds = idle_seconds

    def _key(self, session_id: str) -> str:
        return self.cache.key("session", session_id)

    async def load(self, session_id: str | None) -> Session:
        if session_id and len(session_id) <= 64:
            raw = await self.cache.client.getex(self._key(session_id), ex=self.idle_seconds)
            if raw is not None:
                return Session(session_id, orjson.loads(raw), new=False)
        return Session(new_id(), {}, new=True)

    async def save(self, session: Session) -> None:
        client = self.cache.client
        if session.modified:
            # A known id is only updated, never recreated: a request that raced a sign-out
            # must not bring the ended session back.
            key, data = self._key(session.id), orjson.dumps(session.data)
            await client.set(key, data, ex=self.idle_seconds, xx=not session.new)
        if session.replaced_id is not None:
            await client.delete(self._key(session.replaced_id))
            session.replaced_id = None


def served_over_tls(scope: Scope, trusted: Sequence[Network] = ()) -> bool:
    """Whether the browser used https: directly, or at a trusted proxy that says so.

    `X-Forwarded-Proto` is believed only from a peer in `trusted` (TRUSTED_PROXIES), like
    `X-Forwarded-For`: anyone else could claim https and be handed a cookie named for it.
    The right-most value is the one the nearest (trusted) proxy wrote.
    """
    client = scope.get("client")
    if is_trusted_peer(client[0] if client else None, trusted):
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                return bool(value.split(b",")[-1].strip().lower() == b"https")
    return bool(scope.get("scheme") == "https")


def _cookie_value(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for header, value in scope.get("headers", []):
        if header != b"cookie":
            continue
        for part in value.split(b";"):
            key, _, found = part.strip().partition(b"=")
            if key == wanted:
                return str(found.decode("latin-1"))
    return None


def set_cookie_header(session: Session, *, secure: bool, max_age: int) -> bytes:
    name = SECURE_COOKIE if secure else COOKIE
    attributes = [f"{name}={session.id}", "Path=/", f"Max-Age={max_age}", "HttpOnly"]
    attributes.append("SameSite=Lax")
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes).encode()


class SessionMiddleware:
    """Loads the session into `request.state.session`, saves it and sets the cookie.

    The cookie goes out on every page response, so its Max-Age slides with Valkey's TTL.
    Pure ASGI: the save happens just before the response starts, after the route ran.
    When Valkey cannot be reached at either point, the shopper gets `unavailable_page`
    (the route's own response, if any, is dropped: what it rendered was not remembered).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        idle_seconds: int,
        unavailable_page: UnavailablePage,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.app = app
        self.idle_seconds = idle_seconds
        self.unavailable_page = unavailable_page
        self.trusted_proxies = tuple(trusted_proxies)

    async def _unavailable(
        self, scope: Scope, receive: Receive, send: Send, error: Exception
    ) -> None:
        _log.warning("session store unavailable", error=type(error).__name__, detail=str(error))
        scope.setdefault("state", {}).pop("session", None)  # the page shows no forms
        response = await self.unavailable_page(Request(scope, receive))
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SESSIONLESS_PREFIXES):
            await self.app(scope, receive, send)
            return
        store = SessionStore(
            scope["app"].state.resources.get(Cache), idle_seconds=self.idle_seconds
        )
        secure = served_over_tls(scope, self.trusted_proxies)
        try:
            session = await store.load(_cookie_value(scope, SECURE_COOKIE if secure else COOKIE))
        except STORE_FAILURES as error:
            await self._unavailable(scope, receive, send, error)
            return
        scope.setdefault("state", {})["session"] = session
        replaced = False

        async def send_with_cookie(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the rest of the route's response, in place of which a 503 went out
            if message["type"] == "http.response.start":
                try:
                    await store.save(session)
                except STORE_FAILURES as error:
                    replaced = True
                    await self._unavailable(scope, receive, send, error)
                    return
                if not session.new or session.modified:  # an untouched new session stays unsaved
                    cookie = set_cookie_header(session, secure=secure, max_age=self.idle_seconds)
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
