"""What each request does: plain functions over the store and the catalog port."""

from __future__ import annotations

from cart.clients import Product, Products, find_all
from cart.domain import Cart, Owner, UnknownProduct
from cart.store import Store


async def add_item(
    store: Store, products: Products, owner: Owner, cart_id: str, product_id: str, quantity: int
) -> Cart:
    await store.check_owned(owner, cart_id)  # someone else's cart is 404 before catalog hears of it
    # Asked outside the transaction: no row lock is held while waiting on another service.
    if await products.find(product_id) is None:
        raise UnknownProduct(product_id)
    return await store.add(owner, cart_id, product_id, quantity)


async def add_to_current(
    store: Store, products: Products, owner: Owner, product_id: str, quantity: int
) -> Cart:
    """The owner's cart, opened if they have none, with the units added: the product is
    asked of catalog first, so an unknown one opens no cart."""
    if await products.find(product_id) is None:
        raise UnknownProduct(product_id)
    cart, _ = await store.open(owner)
    return await store.add(owner, cart.id, product_id, quantity)


async def products_of(products: Products, cart: Cart) -> dict[str, Product | None]:
    """Current catalog data for each line (None: catalog no longer has it)."""
    return await find_all(products, [line.product_id for line in cart.lines])
