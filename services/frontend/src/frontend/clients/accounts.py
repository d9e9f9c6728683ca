"""Calls to the accounts service: sign-up, sign-in, tokens, the profile and addresses.

accounts' session token (the refresh credential) and its short-lived access token stay in
the shopper's Valkey session, never in the browser. 401s come back as what they mean to
the shop: `AccessExpired` (refresh and retry) or `SignedOut` (the session has ended).
"""

from typing import Any

from chassis import Response, UpstreamUnavailable, problem_type
from chassis.client import ClientResource
from pydantic import BaseModel, ConfigDict

from frontend.clients.answers import problem_of

CLIENT_ADDRESS_HEADER = "x-client-address"


class _Sent(BaseModel):
    """A body the shop sends accounts, as reads.py declares it (`Call(..., sends=...)`):
    the consumer check holds each field against accounts' request schema."""

    model_config = ConfigDict(frozen=True)


class SignUpForm(_Sent):
    email: str
    password: str
    given_name: str
    family_name: str | None = None  # left out of the body when there is none


class EmailOnly(_Sent):
    email: str


class LinkUse(_Sent):
    token: str
    password: str


class SignInForm(_Sent):
    email: str
    password: str


class RefreshForm(_Sent):
    session_token: str


class AddressForm(_Sent):
    """A saved address as the account page's form has it (empty: not given)."""

    recipient: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str


class AccountsRefused(Exception):
    """accounts said no in a way a person can act on (a 4xx problem)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail", ""))
        self.status = status
        self.kind = problem_type(problem)
        self.detail = str(problem.get("detail", ""))
        self.problem = problem
        self.retry_after = problem.get("retry_after")


class AccessExpired(Exception):
    """The access token ran out; the session token may still get a new one."""


class SignedOut(Exception):
    """The accounts session has ended (signed out elsewhere, password changed, expired)."""


class AccountsClient(ClientResource):
    """What the shop asks of accounts; also a chassis resource, like `CatalogClient`."""

    async def register(self, form: SignUpForm, client_address: str) -> None:
        body = form.model_dump(exclude_none=True)
        await self.call("POST", "/v1/users", json=body, client_address=client_address)

    async def request_verification(self, email: str, client_address: str) -> None:
        body = EmailOnly(email=email).model_dump()
        await self.call(
            "POST", "/v1/users/verification-requests", json=body, client_address=client_address
        )

    async def verify(self, token: str, password: str, client_address: str) -> Any:
        """Use an address-verification link with the password chosen at sign-up: the same
        answer as a sign-in."""
        body = LinkUse(token=token, password=password).model_dump()
        return await self.call(
            "POST", "/v1/verifications", json=body, client_address=client_address
        )

    async def sign_in(self, email: str, password: str, client_address: str) -> Any:
        body = SignInForm(email=email, password=password).model_dump()
        return await self.call("POST", "/v1/sessions", json=body, client_address=client_address)

    async def refresh(self, session_token: str) -> Any:
        body = RefreshForm(session_token=session_token).model_dump()
        return await self.call("POST", "/v1/sessions/refresh", json=body)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        token: str | None = None,
        client_address: str | None = None,
    ) -> Any:
        """One call; the decoded answer (None when empty), or the exception it means."""
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if client_address is not None:
            headers[CLIENT_ADDRESS_HEADER] = client_address
        response = await self.http.request(method, path, json=json, headers=headers)
        return self._answer(response)

    def _answer(self, response: Response) -> Any:
        if response.ok:
            return response.json() if response.body else None
        problem = problem_of(response)
        if response.status >= 500:
            raise UpstreamUnavailable("accounts", f"answered {response.status}")
        if "retry-after" in response.headers:
            problem["retry_after"] = response.headers["retry-after"]
        refused = AccountsRefused(response.status, problem)
        if response.status == 401 and refused.kind == "access-token-expired":
            raise AccessExpired
        if response.status == 401 and refused.kind in {"session-ended", "access-token-invalid"}:
            raise SignedOut
        raise refused
