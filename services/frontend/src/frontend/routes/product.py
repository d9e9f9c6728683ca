"""The product page: catalog's product, "You may also like" from recommendations, in the
shopper's currency (template: templates/product.html)."""

from chassis.concurrency import concurrently
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from frontend.clients.catalog import ProductNotFound, is_product_id
from frontend.dependencies import BrowsingDep

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/product/{product_id}")
async def product(request: Request, product_id: str, shop: BrowsingDep) -> HTMLResponse:
    if not is_product_id(product_id):
        raise ProductNotFound(product_id)  # cannot exist: no need to ask catalog
    # "You may also like" is asked alongside catalog, so it adds no time of its own; it
    # never fails (an empty list instead), so only catalog's failures cancel the page.
    categories, item, suggested = await concurrently(
        shop.catalog.categories(),
        shop.catalog.product(product_id),
        shop.recommendations.for_product(product_id),
    )
    current = next((c for c in categories if c.slug == item.category), None)
    crumbs: list[tuple[str, str | None]] = [("Home", "/")]
    if current is not None:
        crumbs.append((current.name, f"/category/{current.slug}"))
    crumbs.append((item.name, None))
    shown = await shop.prices.shown([item, *suggested])  # one conversion for the whole page
    return shop.pages.render(
        request,
        "product.html",
        prices=shop.prices,
        title=item.name,
        description=item.description[:160],
        categories=categories,
        current_category=item.category,
        crumbs=crumbs,
        product=shown[0],
        suggested=shown[1:],
    )
