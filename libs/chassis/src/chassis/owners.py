"""Whose cart or order a request is about: the signed-in user, or else the anonymous visitor.

The user comes only from a user access token verified here, offline, against accounts'
public key (`chassis.user_tokens`): a user id the caller sends is never believed. The visitor
id is the opaque, unguessable id the frontend keeps in the visitor's session.

Each service keeps its own `Owner` value in its domain; these dependencies build it:

    OwnerDep = Annotated[Owner, Depends(owner_dependency(Owner, whose="cart"))]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chassis.errors import Problem
from chassis.user_tokens import current_user

OwnerKind = Literal["visitor", "user"]
OwnerT = TypeVar("OwnerT")
MakeOwner = Callable[[OwnerKind, str], OwnerT]

VISITOR_ID_PATTERN = r"^[A-Za-z0-9_-]{22,64}$"  # url-safe, at least 128 bits in base64

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

BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

# For a route whose owner is the user or else the visitor (`owner_dependency`): its contract
# says the user's token is optional (`{}`: no scheme at all also works), as it is.
# `openapi_extra=USER_OR_VISITOR`. FastAPI documents any bearer dependency as required.
USER_OR_VISITOR: dict[str, Any] = {"security": [{bearer.scheme_name: []}, {}]}


def owner_dependency(make: MakeOwner[OwnerT], *, whose: str) -> Callable[..., Awaitable[OwnerT]]:
    """The user of a valid access token, else the visitor of `x-visitor-id`, else 401.

    A request with any Authorization header is the user's: a bad token is a 401, never a
    fall back to the visitor id."""

    async def owner(
        request: Request,
        authorization: BearerDep,
        x_visitor_id: Annotated[str | None, VisitorHeader] = None,
    ) -> OwnerT:
        if authorization is not None or "authorization" in request.headers:
            user = await current_user(request)  # 401 unless the token is valid
            return make("user", user.user_id)
        if x_visitor_id is not None:
            return make("visitor", x_visitor_id)
        raise Problem(
            401, "owner-unknown", f"Say whose {whose}: send x-visitor-id or a user access token."
        )

    return owner


def user_dependency(make: MakeOwner[OwnerT]) -> Callable[..., Awaitable[OwnerT]]:
    """The user of a valid access token; 401 otherwise (a visitor id is not enough)."""

    async def user(request: Request, authorization: BearerDep) -> OwnerT:
        claims = await current_user(request)
        return make("user", claims.user_id)

    return user


def visitor_dependency(make: MakeOwner[OwnerT]) -> Callable[..., Awaitable[OwnerT]]:
    """The visitor of a required `x-visitor-id`."""

    async def visitor(x_visitor_id: Annotated[str, VisitorHeader]) -> OwnerT:
        return make("visitor", x_visitor_id)

    return visitor
