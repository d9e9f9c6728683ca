"""The shop's pages: one module per page family, each an APIRouter; `ROUTERS` is what the
app includes, in order."""

from fastapi import APIRouter

from frontend.routes import (
    account,
    cart,
    catalog,
    checkout,
    identity,
    orders,
    pictures,
    preferences,
    product,
)

ROUTERS: list[APIRouter] = [
    catalog.router,
    product.router,
    pictures.router,
    preferences.router,
    identity.router,
    account.router,
    cart.router,
    checkout.router,
    orders.router,
]
