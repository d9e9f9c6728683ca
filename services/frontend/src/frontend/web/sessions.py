"""Shopper sessions in Valkey, so any replica serves any request (no sticky affinity).

The browser holds only an opaque random id in a cookie; the data (currency, flash
messages, the cart's visitor id, the signed-in user's tokens) lives under
`frontend:session:<SHA-256 of the id>` with a sliding idle expiry. Only the browser has the
id: no dump, backup or listing of Valkey yields a cookie that works. An id the browser
brings that Valkey does not know is never adopted: the shopper gets a fresh one, so nobody
can plant a session id on someone else.

A visitor who has changed nothing costs nothing: a session is first stored by a change
worth keeping (adding to the cart, choosing a currency, signing in). What a page only
notes on the way (a flash message, the visitor id a cart *read* used) is kept with a
session that exists or is being stored anyway, and otherwise dropped. The CSRF token is
no session data at all (frontend.web.csrf), so rendering a form stores nothing either.
Measured with `mosaic up`: 10,000 cookie-less page views left Valkey's key count and
memory as they were (tests/system/test_valkey_isolation.py proves it with fewer).

Long because the session, its store and the middleware that loads it before a route and
saves it as the answer starts are one rule: when a session is stored, and what a shopper
is shown when it cannot be (the cookies they get follow from both).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from chassis import Cache, get_logger
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontend.web import csrf
from frontend.web.client_address import Network, is_trusted_peer

COOKIE = "session"  # `__Host-session` over https (cookie_name)
FLASH_COOKIE = "flash"
# Long enough to follow a redirect to the page that shows the message; later, it is stale.
FLASH_SECONDS = 60
# Routes that never read or change a session: no Valkey round trip, no Set-Cookie on
# responses that browsers and proxies cache.
SESSIONLESS_PREFIXES = ("/static/", "/pictures/")
# Valkey unreachable, refusing or timing out while a stored session is read or written: the
# shop answers "try again shortly" (a 503 page) rather than a 500.
STORE_FAILURES = (RedisError, OSError)
# The CSRF cookie outlives any session: a form left open for a while still posts. It is
# set when missing, not slid: nothing about it is stored, so there is nothing to expire.
CSRF_COOKIE_SECONDS = 365 * 24 * 3600

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
        self.worth_storing = False  # set by a change that justifies storing a new session
        self.replaced_id: str | None = None  # the id to delete after `renew()`
        # The response tells what another service did (an order placed): it goes out even
        # when this session's changes cannot be saved (see `answer_even_if_unsaved`).
        self.answer_matters_more = False
        # The token this visitor's forms carry, signed from their CSRF cookie by the middleware.
        self.csrf_token = ""

    @property
    def kept(self) -> bool:
        """Whether this session is (or is about to be) in Valkey, with a cookie naming it."""
        return not self.new or (self.modified and self.worth_storing)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.modified = True
        self.worth_storing = True

    def note(self, key: str, value: Any) -> None:
        """Set a value that is kept only if the session is kept anyway: on its own it is no
        reason to store anything for a visitor."""
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
        self.worth_storing = True

    def clear(self) -> None:
        """Forget everything (at sign-out) under a new id; the old id ends with it."""
        self.data = {}
        self.renew()

    def answer_even_if_unsaved(self) -> None:
        """From here on the route's answer reports something done elsewhere that cannot be
        taken back (orders placed or refused an order): if Valkey is lost before this
        session is saved, the shopper still gets that answer, not "try again", which would
        hide an order that exists. What the session changed meanwhile (the cart's count in
        the header) is lost and catches up at the next change; nothing the answer says
        depends on it."""
        self.answer_matters_more = True

    def flash(self, message: str, kind: str = "info") -> None:
        self.note("flashes", [*self.get("flashes", []), [kind, message]])

    def take_flashes(self) -> list[tuple[str, str]]:
        """Messages to show once: taking them removes them."""
        return [(kind, text) for kind, text in self.pop("flashes", [])]


class SessionStore:
    """Sessions as JSON strings in Valkey; reading one slides its expiry forward."""

    def __init__(self, cache: Cache, *, idle_seconds: int) -> None:
        self.cache = cache
        self.idle_seconds = idle_seconds

    def _key(self, session_id: str) -> str:
        # One-way: the key names the session without being the cookie. The id is 256 random
        # bits, so a plain hash is enough (nothing to guess; no secret key to keep).
        return self.cache.key("session", hashlib.sha256(session_id.encode()).hexdigest())

    async def load(self, session_id: str | None) -> Session:
        if session_id and len(session_id) <= 64:
            raw = await self.cache.client.getex(self._key(session_id), ex=self.idle_seconds)
            if raw is not None:
                return Session(session_id, orjson.loads(raw), new=False)
        return Session(new_id(), {}, new=True)

    async def save(self, session: Session) -> None:
        store = session.modified and session.kept
        if not store and session.replaced_id is None:
            return
        # At sign-in and sign-out both commands go: one round trip (a plain pipeline, no MULTI).
        async with self.cache.client.pipeline(transaction=False) as pipe:
            if store:
                # A known id is only updated, never recreated: a request that raced a sign-out
                # must not bring the ended session back.
                key, data = self._key(session.id), orjson.dumps(session.data)
                pipe.set(key, data, ex=self.idle_seconds, xx=not session.new)
            if session.replaced_id is not None:
                pipe.delete(self._key(session.replaced_id))
            await pipe.execute()
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


def cookie_name(name: str, secure: bool) -> str:
    # Over https: Secure, Path=/, no Domain, so bound to this exact origin.
    return f"__Host-{name}" if secure else name


def cookie_header(name: str, value: str, *, secure: bool, max_age: int) -> bytes:
    """A cookie of ours: HttpOnly, SameSite=Lax, the whole site; max_age 0 deletes it."""
    attributes = [f"{cookie_name(name, secure)}={value}", "Path=/", f"Max-Age={max_age}"]
    attributes += ["HttpOnly", "SameSite=Lax"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes).encode()


class SessionMiddleware:
    """Loads the session into `request.state.session`, saves it and sets the cookies.

    The session cookie goes out on every page response of a stored session, so its Max-Age
    slides with Valkey's TTL. Pure ASGI: the save happens just before the response starts,
    after the route ran. When Valkey cannot be reached at either point, the shopper gets
    `unavailable_page` (the route's own response, if any, is dropped: what it rendered was
    not remembered). A visitor with no stored session never needs Valkey at all.

    Flash messages for a visitor with no stored session (a refused form, say) travel in a
    sealed cookie for the next page (FLASH_SECONDS), rather than costing a session.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        idle_seconds: int,
        unavailable_page: UnavailablePage,
        signer: csrf.CookieSigner,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.app = app
        self.idle_seconds = idle_seconds
        self.signer = signer
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
        brought = _cookie_value(scope, cookie_name(COOKIE, secure))
        try:
            session = await store.load(brought)
        except STORE_FAILURES as error:
            await self._unavailable(scope, receive, send, error)
            return
        csrf_value = _cookie_value(scope, cookie_name(csrf.COOKIE, secure))
        new_csrf = not csrf.is_value(csrf_value)
        if csrf_value is None or new_csrf:
            csrf_value = csrf.new_value()
        session.csrf_token = self.signer.token(csrf_value)
        flash_cookie = _cookie_value(scope, cookie_name(FLASH_COOKIE, secure))
        if flash_cookie and session.new:
            session.data["flashes"] = self._carried(flash_cookie)
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
                    if session.answer_matters_more:
                        _log.warning("session not saved; the answer goes out",
                                     error=type(error).__name__, detail=str(error))  # fmt: skip
                        await send(message)  # without the session's cookies: nothing kept
                        return
                    replaced = True
                    await self._unavailable(scope, receive, send, error)
                    return
                cookies = []
                if session.kept:
                    cookies.append((COOKIE, session.id, self.idle_seconds))
                elif brought:  # an ended or unknown id: the browser need not send it again
                    cookies.append((COOKIE, "", 0))
                if new_csrf:
                    cookies.append((csrf.COOKIE, csrf_value, CSRF_COOKIE_SECONDS))
                flashes = [] if session.kept else session.get("flashes", [])
                if flashes:
                    sealed = self.signer.seal(orjson.dumps(flashes))
                    cookies.append((FLASH_COOKIE, sealed, FLASH_SECONDS))
                elif flash_cookie:  # shown, or kept in the session now
                    cookies.append((FLASH_COOKIE, "", 0))
                extra = [
                    (b"set-cookie", cookie_header(name, value, secure=secure, max_age=seconds))
                    for name, value, seconds in cookies
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _carried(self, sealed: str) -> list[Any]:
        """The flash messages a sealed cookie carries; none if it is not one of ours."""
        payload = self.signer.unseal(sealed)
        try:
            flashes = orjson.loads(payload) if payload is not None else []
        except orjson.JSONDecodeError:
            return []
        return flashes if isinstance(flashes, list) else []
