"""Signing a shopper in, by password or by the link mailed at sign-up: accounts checks, then
the session begins (a new id), the visitor's cart joins the user's, and they are welcomed."""

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from frontend.clients.accounts import AccountsClient
from frontend.clients.cart import CartClient
from frontend.web.cart_owner import merge_after_sign_in
from frontend.web.client_address import client_address
from frontend.web.viewer import Viewer


@dataclass(frozen=True)
class SigningIn:
    request: Request
    accounts: AccountsClient
    viewer: Viewer
    carts: CartClient

    async def with_password(self, email: str, password: str) -> Any:
        """accounts' answer to a sign-in (AccountsRefused when it says no)."""
        return await self.accounts.sign_in(email, password, client_address(self.request))

    async def with_link(self, token: str, password: str) -> Any:
        """accounts' answer to an address-verification link with the sign-up's password."""
        return await self.accounts.verify(token, password, client_address(self.request))

    async def begin(self, answer: Any, welcome: str, target: str) -> Response:
        """After a sign-in or a confirmed sign-up: the session begins, the cart joins, hello."""
        self.viewer.start(answer)
        await merge_after_sign_in(self.viewer, self.carts)
        self.viewer.session.flash(welcome, "success")
        return RedirectResponse(target, status_code=303)
