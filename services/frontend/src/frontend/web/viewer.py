"""Who is looking at the page: the signed-in user kept in the session, and their tokens.

The access token is refreshed with accounts' session token shortly before it expires, or
when accounts says it has; `session-ended` means signed out, here too.
"""

import time
from datetime import datetime
from typing import Any

from frontend.clients.accounts import AccessExpired, AccountsClient, SignedOut
from frontend.web.sessions import Session

REFRESH_MARGIN_SECONDS = 30


class NotSignedIn(Exception):
    """The page needs a signed-in user; the shopper is sent to sign in."""


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def forget_user(session: Session) -> None:
    """Signed out: nothing of the user stays (the currency does), and the session id changes."""
    currency = session.get("currency")
    session.clear()
    if currency is not None:
        session["currency"] = currency


class Viewer:
    def __init__(self, session: Session, accounts: AccountsClient) -> None:
        self.session = session
        self.accounts = accounts

    @property
    def user(self) -> dict[str, str] | None:
        user = self.session.get("user")
        return user if isinstance(user, dict) else None

    def start(self, signed_in: Any) -> None:
        """Signed in: a new session id (the old one is dropped), then the user's tokens."""
        self.session.renew()
        user = signed_in["user"]
        name = " ".join(n for n in (user["given_name"], user.get("family_name")) if n)
        # The given name goes with each order, for the confirmation mail to greet by.
        self.session["user"] = {"id": user["id"], "name": name, "given_name": user["given_name"]}
        self.session["tokens"] = {
            "session": signed_in["session"]["token"],
            "access": signed_in["access_token"]["token"],
            "access_expires": _epoch(signed_in["access_token"]["expires_at"]),
        }

    def forget(self) -> None:
        """Signed out: nothing of the user stays, and the session id changes."""
        forget_user(self.session)

    async def _refresh(self) -> str:
        tokens = self.session.get("tokens") or {}
        try:
            answer = await self.accounts.refresh(str(tokens.get("session", "")))
        except SignedOut:
            self.forget()
            raise NotSignedIn from None
        tokens = {
            **tokens,
            "access": answer["access_token"]["token"],
            "access_expires": _epoch(answer["access_token"]["expires_at"]),
        }
        self.session["tokens"] = tokens
        return str(tokens["access"])

    async def access_token(self) -> str:
        tokens = self.session.get("tokens")
        if self.user is None or not isinstance(tokens, dict):
            raise NotSignedIn
        if float(tokens.get("access_expires", 0)) - REFRESH_MARGIN_SECONDS < time.time():
            return await self._refresh()
        return str(tokens["access"])

    async def call(self, method: str, path: str, *, json: Any = None) -> Any:
        """A call as the user; refreshed once if the token has just expired."""
        token = await self.access_token()
        try:
            try:
                return await self.accounts.call(method, path, json=json, token=token)
            except AccessExpired:
                token = await self._refresh()
                return await self.accounts.call(method, path, json=json, token=token)
        except (SignedOut, AccessExpired):
            self.forget()
            raise NotSignedIn from None
