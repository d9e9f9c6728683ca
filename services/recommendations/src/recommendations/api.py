"""The recommendations service's HTTP API, /v1: routes only; the rules are in `domain`."""

from __future__ import annotations

from typing import Annotated

from chassis import callers
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from recommendations import handlers
from recommendations.clients import CatalogClient
from recommendations.domain import DEFAULT_LIMIT, MAX_EXCLUDED, MAX_LIMIT
from recommendations.problems import DOCUMENTED
from recommendations.schemas import RecommendationList

router = APIRouter(prefix="/v1")

# Who may call: the shop's pages (a product page, the cart page).
READERS = [callers("frontend")]

# Catalog's product ids: lowercase slugs of at most 64 characters.
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
MAX_SLUG_LENGTH = 64

ProductId = Annotated[
    str | None,
    Query(
        pattern=f"^{SLUG}$",
        max_length=MAX_SLUG_LENGTH,
        description="the product on the page; omit it for a cart (then `exclude` is the cart)",
        examples=["ceramic-pour-over"],
    ),
]
Exclude = Annotated[
    str,
    Query(
        pattern=f"^(?:{SLUG}(?:,{SLUG})*)?$",
        max_length=MAX_EXCLUDED * (MAX_SLUG_LENGTH + 1),
        description=f"product ids never to suggest (the cart's), comma-separated, at most "
        f"{MAX_EXCLUDED}",
        examples=["brass-compass,wool-socks"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="the most products to suggest")]


@router.get(
    "/recommendations",
    response_model=RecommendationList,
    responses=DOCUMENTED,
    dependencies=READERS,
)
async def recommendations(
    request: Request,
    product_id: ProductId = None,
    exclude: Exclude = "",
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """ "You may also like": for a product page, or for a cart; best first, never the product
    itself nor anything excluded, the same answer for the same catalog."""
    excluded = [product for product in exclude.split(",") if product]
    if len(set(excluded)) > MAX_EXCLUDED:
        raise handlers.TooManyExcluded(len(set(excluded)))
    # The pattern bounds the list, not each id: an overlong one would be catalog's 422,
    # and so our 502 (found by fuzzing the contract, tests/system/test_api_fuzz.py).
    if too_long := next((p for p in excluded if len(p) > MAX_SLUG_LENGTH), None):
        raise handlers.ExcludedIdTooLong(too_long, MAX_SLUG_LENGTH)
    # From the request, not a dependency: FastAPI resolves each dependency on every request
    # (with the callers' check, a third of this route's CPU, bench/profile_route.py).
    catalog: CatalogClient = request.app.state.resources.get(CatalogClient)
    answer = await handlers.for_product_or_cart(catalog, product_id, excluded, limit)
    return Response(answer, media_type="application/json")
