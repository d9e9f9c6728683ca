"""Whose order a request is about: the signed-in user, or else the anonymous visitor.

The user comes only from a user access token verified here, offline, against accounts'
public key: a user id the caller sends is never believed. The visitor id is the opaque,
unguessable id the frontend keeps in the visitor's session.
"""

from __future__ import annotations

from typing import Annotated

from chassis import Problem
from chassis.user_tokens import current_user
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orders.domain import Owner
from orders.ports import OwnerProof

VISITOR_ID_PATTERN = r"^[A-Za-z0-9_-]{22,64}$"  # as cart takes it: the frontend's opaque id

VisitorHeader = Header(
    pattern=VISITOR_ID_PATTERN,
    description="the anonymous visitor's opaque id, kept by the frontend in its session",
    examples=["mJ1xq2sV0cB7yT4nE9aZkQ"],
)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="UserAccessToken",
    description="The signed-in user's access token from accounts (EdDSA JWT)",
)


async def _owner(
    request: Request,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    x_visitor_id: Annotated[str | None, VisitorHeader] = None,
) -> Owner:
    if authorization is not None or "authorization" in request.headers:
        user = await current_user(request)  # 401 unless the token is valid
        return Owner("user", user.user_id)
    if x_visitor_id is not None:
        return Owner("visitor", x_visitor_id)
    raise Problem(
        401, "owner-unknown", "Say whose order: send x-visitor-id or a user access token."
    )


async def _user(
    request: Request,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Owner:
    user = await current_user(request)
    return Owner("user", user.user_id)


def proof_of(request: Request, owner: Owner) -> OwnerProof:
    """The same proof, passed on to cart to read the owner's cart."""
    if owner.kind == "user":
        return OwnerProof({"Authorization": request.headers["authorization"]})
    return OwnerProof({"x-visitor-id": owner.id})


OwnerDep = Annotated[Owner, Depends(_owner)]
UserOwnerDep = Annotated[Owner, Depends(_user)]
