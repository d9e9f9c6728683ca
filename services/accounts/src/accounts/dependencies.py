"""What routes ask for: the service's parts, the signed-in user, the shopper's address.

All async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from chassis import Cache, Database, Problem, dependency
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accounts.address_book import AddressBook
from accounts.domain import Viewer
from accounts.handlers import Accounts, authenticate
from accounts.keys import UserTokens
from accounts.limits import Limiter
from accounts.session_cache import SessionCache
from accounts.store import Store

CLIENT_ADDRESS_HEADER = "x-client-address"
# An IPv6 user typically gets a whole /64: counting single addresses would let them
# rotate through 2^64 of them.
_IPV6_PREFIX = 64


async def _accounts(
    request: Request,
    database: Annotated[Database, Depends(dependency(Database))],
    cache: Annotated[Cache, Depends(dependency(Cache))],
    tokens: Annotated[UserTokens, Depends(dependency(UserTokens))],
) -> Accounts:
    state = request.app.state
    return Accounts(
        store=Store(database),
        address_book=AddressBook(database),
        passwords=state.passwords,
        tokens=tokens,
        limiter=Limiter(cache),
        sessions=SessionCache(cache, ttl_seconds=state.settings.session_cache_seconds),
        rules=state.rules,
    )


AccountsDep = Annotated[Accounts, Depends(_accounts)]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="UserAccessToken",
    description="The user's access token from sign-in or refresh (EdDSA JWT, ~10 minutes)",
)


async def _viewer(
    accounts: AccountsDep,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Viewer:
    return await authenticate(accounts, authorization.credentials if authorization else None)


ViewerDep = Annotated[Viewer, Depends(_viewer)]


def client_subject(address: str) -> str:
    """Whom a client address stands for in the limits: the address, or its IPv6 /64."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        raise Problem(
            422,
            "invalid-request",
            f"{CLIENT_ADDRESS_HEADER} must be the browser's IP address",
        ) from None
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, _IPV6_PREFIX), strict=False))
    return str(parsed)


async def _client(
    x_client_address: Annotated[
        str,
        Header(
            max_length=64,
            description="the browser's IP address, as the frontend saw it",
            examples=["203.0.113.7"],
        ),
    ],
) -> str:
    return client_subject(x_client_address)


ClientDep = Annotated[str, Depends(_client)]
