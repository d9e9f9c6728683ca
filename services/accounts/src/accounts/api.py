"""accounts' HTTP API, /v1: routes only; the work is in `handlers` and `store`.

Only the frontend calls accounts: it signs shoppers in and keeps their session token in
its own session store. Requests about a signed-in user carry the user's access token in
`Authorization: Bearer ...`; there is no user id in any path, so no id can name someone
else's account.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from chassis import callers
from fastapi import APIRouter, BackgroundTasks, Path
from fastapi.responses import Response

from accounts import handlers
from accounts.addresses import Address, AddressDraft, AddressList
from accounts.dependencies import AccountsDep, ClientDep, ViewerDep
from accounts.problems import INVALID, LIMITED, SIGNED_IN, responses
from accounts.schemas import (
    Credentials,
    PasswordChange,
    Profile,
    ProfileChanges,
    Refresh,
    Refreshed,
    Registered,
    Registration,
    SessionInfo,
    SignedIn,
    Verification,
    VerificationRequest,
    VerificationRequested,
)

router = APIRouter(prefix="/v1")

# Who may call: the shop's pages, and nobody else.
FRONTEND = [callers("frontend")]

AddressId = Annotated[uuid.UUID, Path(description="an address id from this account")]
NO_ADDRESS = responses(_404="No such address in this account")


# --- registration and sessions ---------------------------------------------------------


@router.post(
    "/users",
    status_code=202,
    dependencies=FRONTEND,
    responses={
        **responses(
            _422="Not valid: the body, the address (`invalid-email`) or the password "
            "(`password-rejected`, with `reasons`)"
        ),
        **LIMITED,
    },
)
async def register(form: Registration, client: ClientDep, accounts: AccountsDep) -> Registered:
    """Register. The same 202 whether or not the address was free: the mail to the address
    says what next (a new account signs in once its address is confirmed by the link)."""
    return await handlers.register(accounts, form, client)


@router.post(
    "/users/verification-requests",
    status_code=202,
    dependencies=FRONTEND,
    responses={**INVALID, **LIMITED},
)
async def request_verification(
    request: VerificationRequest, client: ClientDep, accounts: AccountsDep, later: BackgroundTasks
) -> VerificationRequested:
    """Send a new confirmation link, if this address has an account waiting for one: the
    same 202 for every address, at the same speed (the link is made after the answer)."""
    email = await handlers.request_verification(accounts, request, client)
    if email is not None:
        later.add_task(handlers.send_verification, accounts, email)
    return VerificationRequested()


@router.post(
    "/verifications",
    status_code=201,
    dependencies=FRONTEND,
    responses={
        **INVALID,
        **responses(
            _403=(
                "The password is not the one chosen at the sign-up the link was sent for "
                "(`verification-password-mismatch`); the link still works for the right one"
            ),
            _410="The link is unknown, used or expired (`verification-link-invalid`)",
        ),
        **LIMITED,
    },
)
async def verify(body: Verification, client: ClientDep, accounts: AccountsDep) -> SignedIn:
    """Use a confirmation link (its token) with the password chosen at sign-up: the address
    is proven, and a session opens, as at sign-in. A link works once, until it expires;
    wrong passwords count against the sign-in limits."""
    return await handlers.verify(accounts, body, client)


@router.post(
    "/sessions",
    status_code=201,
    dependencies=FRONTEND,
    responses={
        **INVALID,
        **responses(
            _401="Unknown address or wrong password: one answer for both",
            _403="The right password, but the address is not confirmed yet (`email-unverified`)",
        ),
        **LIMITED,
    },
)
async def sign_in(credentials: Credentials, client: ClientDep, accounts: AccountsDep) -> SignedIn:
    """Sign in: a new session (its token is the refresh credential) and an access token."""
    return await handlers.sign_in(accounts, credentials, client)


@router.post(
    "/sessions/refresh",
    dependencies=FRONTEND,
    responses={**INVALID, **responses(_401="The session has ended (`session-ended`)")},
)
async def refresh(body: Refresh, accounts: AccountsDep) -> Refreshed:
    """A new access token for a session that is still on."""
    return await handlers.refresh(accounts, body.session_token)


@router.get("/sessions/current", dependencies=FRONTEND, responses=SIGNED_IN)
async def current_session(viewer: ViewerDep) -> SessionInfo:
    """The access token's session, if it is still on: fast, for a check on every page."""
    return handlers.current_session(viewer)


@router.delete("/sessions/current", status_code=204, dependencies=FRONTEND, responses=SIGNED_IN)
async def sign_out(viewer: ViewerDep, accounts: AccountsDep) -> Response:
    """Sign out everywhere: every session of the user ends."""
    await handlers.sign_out(accounts, viewer)
    return Response(status_code=204)


# --- the signed-in user ----------------------------------------------------------------


@router.get("/users/me", dependencies=FRONTEND, responses=SIGNED_IN)
async def get_profile(viewer: ViewerDep, accounts: AccountsDep) -> Profile:
    return await handlers.profile(accounts, viewer)


@router.patch(
    "/users/me",
    dependencies=FRONTEND,
    responses={
        **SIGNED_IN,
        **responses(
            _403="The current password is not right (`wrong-password`)",
            _409="The new email address cannot be used (`email-unavailable`)",
            _422="Not valid; a new email address needs `current_password`",
        ),
        **LIMITED,
    },
)
async def update_profile(
    changes: ProfileChanges, viewer: ViewerDep, accounts: AccountsDep
) -> Profile:
    """Change the display name and/or the email address (the latter with the password)."""
    return await handlers.update_profile(accounts, viewer, changes)


@router.post(
    "/users/me/password",
    dependencies=FRONTEND,
    responses={
        **SIGNED_IN,
        **responses(
            _403="The current password is not right (`wrong-password`)",
            _422="Not valid, or the new password is refused (`password-rejected`)",
        ),
        **LIMITED,
    },
)
async def change_password(
    change: PasswordChange, viewer: ViewerDep, accounts: AccountsDep
) -> SignedIn:
    """Change the password: every session ends; the answer is a new one for this client."""
    return await handlers.change_password(accounts, viewer, change)


# --- saved addresses -------------------------------------------------------------------


@router.get("/users/me/addresses", dependencies=FRONTEND, responses=SIGNED_IN)
async def list_addresses(viewer: ViewerDep, accounts: AccountsDep) -> AddressList:
    return AddressList(items=await accounts.address_book.addresses(viewer.user_id))


@router.post(
    "/users/me/addresses",
    status_code=201,
    dependencies=FRONTEND,
    responses={
        **SIGNED_IN,
        **INVALID,
        **responses(_409="The account has as many addresses as it may keep"),
    },
)
async def add_address(
    draft: AddressDraft, viewer: ViewerDep, accounts: AccountsDep, response: Response
) -> Address:
    address = await accounts.address_book.add_address(viewer.user_id, draft)
    response.headers["Location"] = f"{router.prefix}/users/me/addresses/{address.id}"
    return address


@router.get(
    "/users/me/addresses/{address_id}",
    dependencies=FRONTEND,
    responses={**SIGNED_IN, **NO_ADDRESS, **INVALID},
)
async def get_address(address_id: AddressId, viewer: ViewerDep, accounts: AccountsDep) -> Address:
    return await accounts.address_book.address(viewer.user_id, str(address_id))


@router.put(
    "/users/me/addresses/{address_id}",
    dependencies=FRONTEND,
    responses={**SIGNED_IN, **NO_ADDRESS, **INVALID},
)
async def replace_address(
    address_id: AddressId, draft: AddressDraft, viewer: ViewerDep, accounts: AccountsDep
) -> Address:
    return await accounts.address_book.replace_address(viewer.user_id, str(address_id), draft)


@router.delete(
    "/users/me/addresses/{address_id}",
    status_code=204,
    dependencies=FRONTEND,
    responses={**SIGNED_IN, **NO_ADDRESS, **INVALID},
)
async def delete_address(
    address_id: AddressId, viewer: ViewerDep, accounts: AccountsDep
) -> Response:
    await accounts.address_book.delete_address(viewer.user_id, str(address_id))
    return Response(status_code=204)
