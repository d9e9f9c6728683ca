"""The catalog's HTTP API, /v1: routes only; the work is in `handlers`."""

from __future__ import annotations

from typing import Annotated

import orjson
from chassis import Cache, Database, callers, documented
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from catalog import handlers, pictures
from catalog.cache import CatalogCache
from catalog.domain import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    MAX_SLUG_LENGTH,
    SLUG_PATTERN,
    Assortment,
    CategoryList,
    PageRequest,
    Product,
    ProductPage,
    read_search,
)
from catalog.problems import INVALID, NOT_CACHED, PRODUCT_NOT_FOUND
from catalog.schemas import ProductChanges, ProductDraft
from catalog.settings import CatalogSettings
from catalog.store import Store

router = APIRouter(prefix="/v1")

# Who may call: the shop's pages, the cart (it checks products exist), recommendations
# (it ranks products) and orders (it prices a checkout) read; only the operator's admin
# tool writes (no service does).
READERS = [callers("frontend", "cart", "recommendations", "orders")]
WRITERS = [callers("admin")]


# The store and the cache come from the request, not as dependencies: FastAPI resolves each
# dependency on every request (its own `solve_dependencies` pass, about a third of a cached
# read's CPU with the callers' check, bench/profile_route.py), and the request is handed to
# a route for free. Both are cheap wrappers made per request.
def _reads(request: Request) -> tuple[Store, CatalogCache]:
    state = request.app.state
    settings: CatalogSettings = state.settings
    cache = CatalogCache(state.resources.get(Cache), ttl_seconds=settings.cache_ttl_seconds)
    return Store(state.resources.get(Database)), cache


ProductIdPath = Annotated[
    str, Path(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["ceramic-pour-over"])
]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="products per page")]


def _json(body: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


@router.get("/categories", response_model=CategoryList, dependencies=READERS)
async def list_categories(request: Request) -> Response:
    return _json(await handlers.categories(*_reads(request)))


@router.get(
    "/products",
    dependencies=READERS,
    response_model=ProductPage,
    responses={**INVALID, 404: documented("No such category")},
)
async def list_products(
    request: Request,
    category: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH)] = None,
    page: Page = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Response:
    paging = PageRequest(page, page_size)
    return _json(await handlers.products(*_reads(request), category, paging))


@router.get(
    "/assortment",
    dependencies=READERS,
    response_model=Assortment,
    responses={
        304: {"description": "The caller's copy (If-None-Match, the ETag it was sent) is current"},
        **INVALID,
    },
)
async def get_assortment(
    request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Every category's first 100 products and the catalog's first 100, without descriptions,
    tagged with catalog's generation: a caller keeps it and asks again with If-None-Match,
    which costs catalog one Valkey read until a write changes the catalog."""
    held = if_none_match.strip('"') if if_none_match else None
    version, body = await handlers.assortment(*_reads(request), held)
    headers = {"ETag": f'"{version}"'} if version is not None else None
    if body is None:
        return Response(status_code=304, headers=headers)
    return _json(body, headers=headers)


@router.get(
    "/products/{product_id}",
    dependencies=READERS,
    response_model=Product,
    responses={**PRODUCT_NOT_FOUND, **INVALID},
)
async def get_product(product_id: ProductIdPath, request: Request) -> Response:
    return _json(await handlers.product(*_reads(request), product_id))


@router.get("/search", response_model=ProductPage, responses=INVALID, dependencies=READERS)
async def search_products(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_LENGTH,
            pattern=r"\S",
            description='words to look for; "quoted phrases", -excluded and partial words work',
        ),
    ],
    page: Page = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Response:
    paging = PageRequest(page, page_size)
    return _json(await handlers.search(*_reads(request), read_search(q), paging))


@router.put(
    "/products/{product_id}",
    dependencies=WRITERS,
    response_model=Product,
    responses={201: {"model": Product, "description": "Created"}, **INVALID, **NOT_CACHED},
)
async def put_product(product_id: ProductIdPath, draft: ProductDraft, request: Request) -> Response:
    product, created = await handlers.save_product(*_reads(request), product_id, draft)
    if created:
        location = {"Location": f"{router.prefix}/products/{product_id}"}
        return _json(orjson.dumps(product), 201, location)
    return _json(orjson.dumps(product))


@router.patch(
    "/products/{product_id}",
    dependencies=WRITERS,
    response_model=Product,
    responses={**PRODUCT_NOT_FOUND, **INVALID, **NOT_CACHED},
)
async def patch_product(
    product_id: ProductIdPath, changes: ProductChanges, request: Request
) -> Response:
    revised = await handlers.revise_product(*_reads(request), product_id, changes)
    return _json(orjson.dumps(revised))


@router.get(
    "/pictures/{product_id}.svg",
    dependencies=READERS,
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The picture"},
        304: {"description": "The client's copy (If-None-Match) is current"},
        **PRODUCT_NOT_FOUND,
        **INVALID,
    },
)
async def get_picture(
    product_id: ProductIdPath,
    request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    picture = pictures.picture(product_id)
    if picture is None:
        await handlers.product(*_reads(request), product_id)  # 404 unless it exists
        picture = pictures.placeholder()
    headers = {
        "ETag": picture.etag,
        # A day, then revalidated by ETag: not `immutable`, since a release may redraw one.
        "Cache-Control": "public, max-age=86400",
        # Pictures are static drawings; if one ever carried script, it must not run.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
    }
    if picture.matches(if_none_match):
        return Response(status_code=304, headers=headers)
    return Response(picture.svg, media_type="image/svg+xml", headers=headers)


# HEAD too: caches and link checkers ask before they fetch. The server drops the body.
router.add_api_route(
    "/pictures/{product_id}.svg",
    get_picture,
    methods=["HEAD"],
    include_in_schema=False,
    dependencies=READERS,
)
