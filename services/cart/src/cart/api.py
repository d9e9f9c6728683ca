"""The cart's HTTP API, /v1: routes only; rules in `domain`, storage in `store`.

Every route acts for the owner the request proves (owners.py); a cart id that is not the
owner's answers 404, exactly like a missing one.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from chassis import Database, callers, dependency
from chassis.owners import USER_OR_VISITOR
from fastapi import APIRouter, Depends, Path, Query, Response

from cart import handlers
from cart.clients import CatalogProducts
from cart.domain import Cart, CartNotFound
from cart.owners import OwnerDep, UserOwnerDep, VisitorDep
from cart.problems import CART_NOT_FOUND, CATALOG_DOWN, INVALID, OWNER, Responses
from cart.schemas import CartView, ItemToAdd, OrderedLines, QuantityChange, cart_view
from cart.store import Store

router = APIRouter(prefix="/v1")

# Who may call: the shop's pages; orders reads the owner's cart at checkout and, once the
# order is confirmed, takes the ordered lines out of it.
SHOP = [callers("frontend")]
CHECKOUT_READ = [callers("frontend", "orders")]
ORDERS = [callers("orders")]


async def _store(database: Annotated[Database, Depends(dependency(Database))]) -> Store:
    return Store(database)


StoreDep = Annotated[Store, Depends(_store)]
ProductsDep = Annotated[CatalogProducts, Depends(dependency(CatalogProducts))]
CartId = Annotated[uuid.UUID, Path(description="the cart's id, from POST /v1/carts")]
OrderId = Annotated[uuid.UUID, Path(description="the order's id, from orders")]
ProductPath = Annotated[str, Path(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
Include = Annotated[
    str | None,
    Query(pattern="^products$", description="`products`: embed catalog's current products"),
]
ERRORS: Responses = {**OWNER, **CART_NOT_FOUND, **INVALID}


@router.post(
    "/carts",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    response_model=CartView,
    responses={201: {"model": CartView, "description": "Created"}, **OWNER, **INVALID},
)
async def open_cart(owner: OwnerDep, store: StoreDep, response: Response) -> CartView:
    """The owner's cart, created if they have none: safe to repeat."""
    cart, created = await store.open(owner)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"{router.prefix}/carts/{cart.id}"
    return cart_view(cart)


@router.get(
    "/carts/current",
    openapi_extra=USER_OR_VISITOR,
    dependencies=CHECKOUT_READ,
    response_model=CartView,
    responses={**ERRORS, **CATALOG_DOWN},
)
async def current_cart(
    owner: OwnerDep, store: StoreDep, products: ProductsDep, include: Include = None
) -> CartView:
    """The owner's cart without creating one (404 if they have none yet): for a header, and
    for orders at checkout; with `include=products`, for a page in one call."""
    cart = await store.find(owner)
    if cart is None:
        raise CartNotFound
    return await _shown(cart, products, include)


@router.post(
    "/carts/current/items",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    response_model=CartView,
    responses={**OWNER, **INVALID, **CATALOG_DOWN},
)
async def add_to_current(
    item: ItemToAdd, owner: OwnerDep, store: StoreDep, products: ProductsDep
) -> CartView:
    """Add units of a product to the owner's cart, opened if they have none: `POST
    /v1/carts` and then its items in one call (catalog must know the product; the line may
    not pass 10 units)."""
    cart = await handlers.add_to_current(store, products, owner, item.product_id, item.quantity)
    return cart_view(cart)


@router.post(
    "/carts/merge",
    dependencies=SHOP,
    response_model=CartView,
    responses={**OWNER, **INVALID},
)
async def merge_carts(user: UserOwnerDep, visitor: VisitorDep, store: StoreDep) -> CartView:
    """On sign-in: the visitor's lines move into the user's cart (quantities summed, capped
    at 10; lines past 50 left out) and the visitor's cart is gone. Safe to repeat."""
    return cart_view(await store.merge(user, visitor))


@router.get(
    "/carts/{cart_id}",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    response_model=CartView,
    responses={**ERRORS, **CATALOG_DOWN},
)
async def view_cart(
    cart_id: CartId,
    owner: OwnerDep,
    store: StoreDep,
    products: ProductsDep,
    include: Include = None,
) -> CartView:
    return await _shown(await store.cart(owner, str(cart_id)), products, include)


async def _shown(cart: Cart, products: CatalogProducts, include: str | None) -> CartView:
    """The cart's view; with catalog's current products when `include=products`."""
    if include is None:
        return cart_view(cart)
    return cart_view(cart, await handlers.products_of(products, cart))


@router.post(
    "/carts/{cart_id}/items",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    response_model=CartView,
    responses={**ERRORS, **CATALOG_DOWN},
)
async def add_item(
    cart_id: CartId, item: ItemToAdd, owner: OwnerDep, store: StoreDep, products: ProductsDep
) -> CartView:
    """Add units of a product (catalog must know it); the line may not pass 10 units."""
    cart = await handlers.add_item(
        store, products, owner, str(cart_id), item.product_id, item.quantity
    )
    return cart_view(cart)


@router.put(
    "/carts/{cart_id}/items/{product_id}",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    response_model=CartView,
    responses=ERRORS,
)
async def change_quantity(
    cart_id: CartId,
    product_id: ProductPath,
    change: QuantityChange,
    owner: OwnerDep,
    store: StoreDep,
) -> CartView:
    cart = await store.set_quantity(owner, str(cart_id), product_id, change.quantity)
    return cart_view(cart)


@router.delete(
    "/carts/{cart_id}/items/{product_id}",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    status_code=204,
    response_class=Response,
    responses=ERRORS,
)
async def remove_item(
    cart_id: CartId, product_id: ProductPath, owner: OwnerDep, store: StoreDep
) -> Response:
    await store.remove(owner, str(cart_id), product_id)
    return Response(status_code=204)


@router.delete(
    "/carts/{cart_id}/items",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    status_code=204,
    response_class=Response,
    responses=ERRORS,
)
async def clear_cart(cart_id: CartId, owner: OwnerDep, store: StoreDep) -> Response:
    await store.clear(owner, str(cart_id))
    return Response(status_code=204)


@router.put(
    "/carts/{cart_id}/orders/{order_id}",
    dependencies=ORDERS,
    response_model=CartView,
    responses={**CART_NOT_FOUND, **INVALID},
)
async def remove_ordered_lines(
    cart_id: CartId, order_id: OrderId, ordered: OrderedLines, store: StoreDep
) -> CartView:
    """For orders, once an order is confirmed: take the units it bought out of the cart (a
    line goes at zero; units added since the checkout stay). Once per order: repeating it
    for the same order changes nothing, so it is safe to retry.

    No owner proof here: orders read the cart id with the owner's proof at checkout, and
    may finish this in its recovery long after the shopper's access token has expired.
    Only orders may call it."""
    return cart_view(await store.remove_ordered(str(cart_id), str(order_id), ordered.as_lines()))
