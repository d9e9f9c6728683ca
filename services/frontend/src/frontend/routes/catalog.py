"""The shop window and its shelves: home, a category, search results (24 products a page)."""

from typing import Annotated
from urllib.parse import urlencode

from chassis.concurrency import concurrently
from fastapi import APIRouter, HTTPException, Query, Request
from starlette.responses import HTMLResponse

from frontend.clients.catalog import CategoryNotFound, is_category_slug
from frontend.dependencies import BrowsingDep
from frontend.web.paging import Pager
from frontend.web.rendering import MAX_QUERY_LENGTH

router = APIRouter(default_response_class=HTMLResponse)

PAGE_SIZE = 24
# Far beyond any real catalog; stops `page=10**100` from reaching catalog at all.
MAX_PAGE = 10_000

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
SearchQuery = Annotated[str, Query(max_length=MAX_QUERY_LENGTH)]


@router.get("/")
async def home(request: Request, shop: BrowsingDep, page: PageNumber = 1) -> HTMLResponse:
    """The shop window: categories, then every product, a page of 24 at a time."""
    categories, listing = await concurrently(
        shop.catalog.categories(),
        shop.catalog.products(category=None, page=page, page_size=PAGE_SIZE),
    )
    pager = Pager(page=page, page_size=PAGE_SIZE, total=listing.total)
    if pager.beyond_last and page > 1:
        raise HTTPException(404, "There is no such page in the shop.")
    return shop.pages.render(
        request,
        "home.html",
        prices=shop.prices,
        title="Everyday things, made to last" if page == 1 else f"All products, page {page}",
        description="Coffee gear, kitchenware and little luxuries for the home.",
        categories=categories,
        products=await shop.prices.shown(listing.items),
        pager=pager,
        page_url=lambda n: "/" + (f"?page={n}" if n > 1 else ""),
    )


@router.get("/category/{slug}")
async def category(
    request: Request,
    slug: str,
    shop: BrowsingDep,
    page: PageNumber = 1,
) -> HTMLResponse:
    if not is_category_slug(slug):
        raise CategoryNotFound(slug)  # cannot exist: no need to ask catalog
    categories, listing = await concurrently(
        shop.catalog.categories(),
        shop.catalog.products(category=slug, page=page, page_size=PAGE_SIZE),
    )
    current = next((c for c in categories if c.slug == slug), None)
    pager = Pager(page=page, page_size=PAGE_SIZE, total=listing.total)
    if current is None:
        raise CategoryNotFound(slug)
    if pager.beyond_last:
        raise HTTPException(404, "There is no such page in this category.")
    return shop.pages.render(
        request,
        "category.html",
        prices=shop.prices,
        title=current.name if page == 1 else f"{current.name}, page {page}",
        description=current.description,
        categories=categories,
        current_category=slug,
        category=current,
        crumbs=[("Home", "/"), (current.name, None)],
        products=await shop.prices.shown(listing.items),
        pager=pager,
        page_url=lambda n: f"/category/{slug}" + (f"?page={n}" if n > 1 else ""),
    )


@router.get("/search")
async def search(
    request: Request,
    shop: BrowsingDep,
    q: SearchQuery = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    query = " ".join(q.split())  # collapse stray whitespace; "  " is an empty search
    if not query:
        categories = await shop.catalog.categories()
        return shop.pages.render(
            request, "search.html", title="Search", categories=categories, query="", products=[]
        )
    categories, listing = await concurrently(
        shop.catalog.categories(), shop.catalog.search(query, page=page, page_size=PAGE_SIZE)
    )
    pager = Pager(page=page, page_size=PAGE_SIZE, total=listing.total)
    if listing.total and pager.beyond_last:
        raise HTTPException(404, "There are not that many pages of results.")
    return shop.pages.render(
        request,
        "search.html",
        title=f"Search: {query}",
        prices=shop.prices,
        categories=categories,
        query=query,
        products=await shop.prices.shown(listing.items),
        pager=pager,
        page_url=lambda n: "/search?" + urlencode({"q": query, **({"page": n} if n > 1 else {})}),
    )
