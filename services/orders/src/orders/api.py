"""orders' HTTP API, /v1: routes only; the checkout in `checkout`, storage in `store`.

Every route acts for the owner the request proves (owners.py); an order that is not the
owner's answers 404, exactly like a missing one. A guest reaches their order by the
unguessable token of its link. The operator (`mosaic admin`) reads any order's saga
under /v1/admin: it proves no owner, so it gets a route of its own rather than the
owner's.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from chassis import Database, callers, dependency
from chassis.owners import USER_OR_VISITOR
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response

from orders import keys
from orders.admin import AdminOrderView, admin_view
from orders.answers import checkout_answer
from orders.checkout import Checkout
from orders.clients import PaymentsClient
from orders.owners import OwnerDep, UserOwnerDep, proof_of
from orders.ports import Rejected, Unavailable
from orders.problems import (
    CHECKOUT,
    INVALID,
    NOT_FOUND,
    OWNER,
    UNAVAILABLE,
    OrderNotFound,
    PaymentsUnavailable,
    refused,
)
from orders.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    CheckoutIn,
    CheckoutView,
    LimitView,
    OrderList,
    OrderView,
    checkout_view,
    limit_view,
    order_view,
)
from orders.store import Store

router = APIRouter(prefix="/v1")

# Who may call: the shop's pages; the operator for the saga's inner state.
SHOP = [callers("frontend")]
OPERATOR = [callers("admin")]


async def _store(
    request: Request, database: Annotated[Database, Depends(dependency(Database))]
) -> Store:
    return Store(database, lease_seconds=request.app.state.settings.lease_seconds)


StoreDep = Annotated[Store, Depends(_store)]
CheckoutDep = Annotated[Checkout, Depends(dependency(Checkout))]
PaymentsDep = Annotated[PaymentsClient, Depends(dependency(PaymentsClient))]
OrderId = Annotated[uuid.UUID, Path(description="the order's id")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="one per checkout form: a repeat gets the first request's answer",
    ),
]


@router.post(
    "/orders",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    status_code=201,
    response_model=CheckoutView,
    responses={
        201: {"description": "Confirmed: paid, shipped, and the cart's lines removed"},
        202: {
            "model": CheckoutView,
            "description": "Still processing (a callee is down; the recovery finishes it): "
            "ask again with the same key, or GET the order",
        },
        **OWNER,
        **CHECKOUT,
        **INVALID,
    },
)
async def place_order(
    form: CheckoutIn,
    key: IdempotencyKey,
    owner: OwnerDep,
    store: StoreDep,
    checkout: CheckoutDep,
    request: Request,
) -> Response:
    """Place an order from the owner's cart: reprice it, quote shipping, charge the card,
    create the shipment, confirm, and take the ordered lines out of the cart. The answer
    comes when that has ended. The card goes to payments and is never stored or logged."""
    placed = await checkout.place(store, owner, key, form, proof_of(request, owner))
    return checkout_answer(placed)


@router.get(
    "/orders",
    dependencies=SHOP,
    response_model=OrderList,
    responses={**OWNER, **INVALID},
)
async def order_history(
    user: UserOwnerDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=100, description="how many, newest first")] = 20,
) -> OrderList:
    """The signed-in user's orders, newest first."""
    return OrderList(items=[order_view(order) for order in await store.history(user, limit)])


@router.get(
    "/orders/by-key",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    response_model=CheckoutView,
    responses={**OWNER, **NOT_FOUND, **INVALID},
)
async def order_by_key(key: IdempotencyKey, owner: OwnerDep, store: StoreDep) -> CheckoutView:
    """The owner's order placed with this checkout's Idempotency-Key, wherever it stands,
    with its guest link's token: how a shop that lost orders' answer (a timeout, a crash)
    finds out whether the order was placed. 404: no order holds the key (none was placed,
    or it was cancelled before payment and the key released)."""
    found = await store.by_key(keys.key_hash(owner, key))
    if found is None:
        raise OrderNotFound
    token = keys.unseal(found.sealed_token, key, found.order.id)
    return checkout_view(found.order, token)


@router.get(
    "/limits/{currency}",
    dependencies=SHOP,
    response_model=LimitView,
    responses={**INVALID, **UNAVAILABLE},
)
async def charge_limit(
    currency: Annotated[str, Path(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")],
    payments: PaymentsDep,
) -> LimitView:
    """The most one card payment may be in a currency (payments' figure), and the sentence
    that tells a shopper whose cart is over it what to do: the cart and checkout pages
    say it before any card is typed."""
    try:
        limit = await payments.limit(currency)
    except Rejected as rejected:
        raise refused(rejected.failure) from None
    except Unavailable:
        raise PaymentsUnavailable from None
    return limit_view(currency, limit)


@router.get(
    "/orders/by-token/{token}",
    dependencies=SHOP,
    response_model=OrderView,
    responses={**NOT_FOUND, **INVALID},
)
async def order_by_token(
    token: Annotated[str, Path(max_length=128, description="the guest link's token")],
    store: StoreDep,
) -> OrderView:
    """A guest's order, by the token of its status link (kept only as a hash here)."""
    found = await store.by_token(keys.token_hash(token))
    if found is None:
        raise OrderNotFound
    return order_view(found)


@router.get(
    "/orders/{order_id}",
    openapi_extra=USER_OR_VISITOR,
    dependencies=SHOP,
    response_model=OrderView,
    responses={**OWNER, **NOT_FOUND, **INVALID},
)
async def get_order(order_id: OrderId, owner: OwnerDep, store: StoreDep) -> OrderView:
    found = await store.owned(owner, str(order_id))
    if found is None:
        raise OrderNotFound
    return order_view(found)


@router.get(
    "/admin/orders/{order_id}",
    dependencies=OPERATOR,
    response_model=AdminOrderView,
    responses={**NOT_FOUND, **INVALID},
)
async def inspect_order(order_id: OrderId, store: StoreDep) -> AdminOrderView:
    """Any order's saga for support: its step, failure, lease, charge and shipment ids,
    settling window and outbox rows."""
    found = await store.inspect(str(order_id))
    if found is None:
        raise OrderNotFound
    return admin_view(found)
