"""A stand-in accounts: users, sessions, access tokens and addresses, in memory."""

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from chassis.stand_ins import StandIn, problem


def _names(body: dict[str, Any]) -> dict[str, Any]:
    """The sign-up's given and family names (accounts takes no display name since v0.4.0)."""
    return {"given_name": body["given_name"], "family_name": body.get("family_name")}


@dataclass
class FakeAccounts(StandIn):
    """accounts' /v1 contract for the frontend: users, sessions, access tokens, addresses.

    `access_seconds` sets how long an access token lives, so tests can make one expire.
    """

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by email
    sessions: dict[str, str] = field(default_factory=dict)  # session token -> email
    access: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # token -> ...
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    client_addresses: list[str | None] = field(default_factory=list)
    refreshes: int = 0
    links: dict[str, str] = field(default_factory=dict)  # email -> its verification token
    link_requests: list[str] = field(default_factory=list)  # emails a new link was asked for
    refuse_sign_in: int | None = None  # e.g. 429: every sign-in is refused with it
    refuse_addresses: int | None = None  # e.g. 409: every new address is refused with it
    access_seconds: float = 600.0

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/users", self._register)
        app.router.add_post("/v1/users/verification-requests", self._request_link)
        app.router.add_post("/v1/verifications", self._verify)
        app.router.add_post("/v1/sessions", self._sign_in)
        app.router.add_post("/v1/sessions/refresh", self._refresh)
        app.router.add_delete("/v1/sessions/current", self._sign_out)
        app.router.add_get("/v1/users/me", self._me)
        app.router.add_get("/v1/users/me/addresses", self._addresses)
        app.router.add_post("/v1/users/me/addresses", self._add_address)
        app.router.add_delete("/v1/users/me/addresses/{aid}", self._delete_address)
        return app

    def _profile(self, email: str) -> dict[str, Any]:
        user = self.users[email]
        given, family = user["given_name"], user.get("family_name")
        return {"id": user["id"], "email": email, "given_name": given, "family_name": family,
                "display_name": " ".join(n for n in (given, family) if n),
                "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip

    def _access(self, email: str, session_token: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(16)
        expires = time.time() + self.access_seconds
        self.access[token] = (email, session_token, expires)
        stamp = datetime.fromtimestamp(expires, UTC).isoformat()
        return {"token": token, "token_type": "Bearer", "expires_at": stamp}

    def _viewer(self, request: web.Request) -> str | web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.access:
            return problem(401, "access-token-invalid", "no such token")
        email, session_token, expires = self.access[token]
        if session_token not in self.sessions:
            return problem(401, "session-ended", "signed out")
        if expires < time.time():
            return problem(401, "access-token-expired", "expired")
        return email

    async def _register(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        body = await request.json()
        if len(body["password"]) < 12:
            reasons = ["Use at least 12 characters."]
            return problem(422, "password-rejected", "Choose a stronger one.", reasons=reasons)
        if body["email"] not in self.users:
            self.users[body["email"]] = {
                "id": secrets.token_hex(8), **_names(body),
                "password": body["password"], "verified": False,
            }  # fmt: skip
            self.links[body["email"]] = secrets.token_urlsafe(32)  # what accounts would mail
        return web.json_response({"status": "accepted", "email": body["email"]}, status=202)

    async def _request_link(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        email = (await request.json())["email"]
        self.link_requests.append(email)
        user = self.users.get(email)
        if user is not None and not user["verified"]:
            self.links[email] = secrets.token_urlsafe(32)
        return web.json_response({"status": "accepted"}, status=202)

    async def _verify(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        body = await request.json()
        email = next((e for e, t in self.links.items() if t == body["token"]), None)
        if email is None:
            return problem(410, "verification-link-invalid", "This link does not work.")
        if body["password"] != self.users[email]["password"]:  # the link stays usable
            return problem(403, "verification-password-mismatch", "Not the sign-up's.")
        del self.links[email]  # works once
        self.users[email]["verified"] = True
        return self._signed_in(email)

    def _signed_in(self, email: str) -> web.Response:
        user = self.users[email]
        token = secrets.token_urlsafe(32)
        self.sessions[token] = email
        session = {"id": secrets.token_hex(8), "user_id": user["id"], "token": token,
                   "expires_at": "2030-01-01T00:00:00Z"}  # fmt: skip
        answer = {"user": self._profile(email), "session": session,
                  "access_token": self._access(email, token)}  # fmt: skip
        return web.json_response(answer, status=201)

    async def _sign_in(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        if self.refuse_sign_in == 429:
            response = problem(429, "too-many-attempts", "Too many attempts.")
            response.headers["Retry-After"] = "120"
            return response
        body = await request.json()
        user = self.users.get(body["email"])
        if user is None or user["password"] != body["password"]:
            return problem(401, "invalid-credentials", "no")
        if not user.get("verified", True):
            return problem(403, "email-unverified", "Confirm your email address first.")
        return self._signed_in(body["email"])

    async def _refresh(self, request: web.Request) -> web.Response:
        self.refreshes += 1
        token = (await request.json())["session_token"]
        if token not in self.sessions:
            return problem(401, "session-ended", "signed out")
        email = self.sessions[token]
        answer = {"user": self._profile(email), "access_token": self._access(email, token),
                  "session": {"id": "s", "user_id": self.users[email]["id"],
                              "expires_at": "2030-01-01T00:00:00Z"}}  # fmt: skip
        return web.json_response(answer)

    async def _sign_out(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        for token in [t for t, e in self.sessions.items() if e == email]:
            del self.sessions[token]
        return web.Response(status=204)

    async def _me(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        return web.json_response(self._profile(email))

    async def _addresses(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        return web.json_response({"items": self.addresses.get(email, [])})

    async def _add_address(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        if self.refuse_addresses is not None:
            return problem(self.refuse_addresses, "simulated", "Simulated refusal.")
        body = await request.json()
        if not body.get("city"):
            return problem(422, "invalid-request", "city missing")
        stamp = datetime.now(UTC).isoformat()
        address = {**body, "id": secrets.token_hex(6), "created_at": stamp, "updated_at": stamp}
        self.addresses.setdefault(email, []).append(address)
        return web.json_response(address, status=201)

    async def _delete_address(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        kept = [a for a in self.addresses.get(email, []) if a["id"] != request.match_info["aid"]]
        if len(kept) == len(self.addresses.get(email, [])):
            return problem(404, "address-not-found", "No such address in this account.")
        self.addresses[email] = kept
        return web.Response(status=204)
