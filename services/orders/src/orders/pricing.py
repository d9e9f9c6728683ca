"""Pricing a checkout: the cart's lines at catalog's current prices and the shipping option's
price, both converted into the order's currency (catalog and shipping price in USD)."""

from __future__ import annotations

from orders.domain import (
    Line,
    Money,
    Order,
    Shipping,
    empty_cart,
    option_unavailable,
    unavailable_products,
)
from orders.ports import CartContents, CartLine, Catalog, Currency, Rejected, ShippingService


async def price_cart(
    catalog: Catalog, currency: Currency, cart: CartContents | None, to: str
) -> tuple[Line, ...]:
    """The cart's lines priced now; Rejected for an empty cart or a product no longer sold."""
    if cart is None or not cart.lines:
        raise Rejected(empty_cart())
    products = await catalog.products([line.product_id for line in cart.lines])
    gone = [line.product_id for line in cart.lines if products.get(line.product_id) is None]
    if gone:
        raise Rejected(unavailable_products(gone))
    found = [products[line.product_id] for line in cart.lines]
    prices = await _converted(currency, [p.price for p in found if p is not None], to)
    return tuple(
        Line(line.product_id, product.name, line.quantity, price)
        for line, product, price in zip(cart.lines, found, prices, strict=True)
        if product is not None
    )


async def quote(shipping: ShippingService, currency: Currency, order: Order) -> Shipping:
    """The price of the order's shipping option to its address, in the order's currency."""
    items = [CartLine(line.product_id, line.quantity) for line in order.lines]
    options = await shipping.quote(order.address, items)
    chosen = next((o for o in options if o.id == order.shipping_option), None)
    if chosen is None:
        raise Rejected(option_unavailable(order.shipping_option))
    [price] = await _converted(currency, [chosen.price], order.currency)
    return Shipping(chosen.id, chosen.name, price, chosen.days_min, chosen.days_max)


async def _converted(currency: Currency, amounts: list[Money], to: str) -> list[Money]:
    """The amounts in `to`: as they are when they already are (an order in USD, catalog's
    and shipping's currency, asks currency nothing), else converted by currency."""
    if all(amount.currency == to for amount in amounts):
        return amounts
    return await currency.convert(amounts, to)
