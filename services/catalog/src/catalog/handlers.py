"""What each request does: read through the cache, write and invalidate.

Reads return the response body as JSON bytes, which is also what the cache keeps: a hit is
served without touching Postgres or serializing anything.
"""

from __future__ import annotations

import hashlib

import orjson

from catalog.cache import CatalogCache
from catalog.domain import (
    CategoryList,
    PageRequest,
    Product,
    SearchQuery,
)
from catalog.schemas import ProductChanges, ProductDraft
from catalog.store import Store


async def product(store: Store, cache: CatalogCache, product_id: str) -> bytes:
    async def load() -> bytes:
        return orjson.dumps(await store.product(product_id))

    return await cache.through(f"product:{product_id}", load)


async def products(
    store: Store, cache: CatalogCache, category: str | None, paging: PageRequest
) -> bytes:
    async def load() -> bytes:
        return orjson.dumps(await store.products(category, paging))

    name = f"products:{category or ''}:{paging.page}:{paging.page_size}"
    return await cache.through(name, load)


async def search(
    store: Store, cache: CatalogCache, query: SearchQuery, paging: PageRequest
) -> bytes:
    async def load() -> bytes:
        return orjson.dumps(await store.search(query, paging))

    # Hashed: the shopper's text is unbounded in characters, a key should not be.
    digest = hashlib.blake2b(query.cache_key.encode(), digest_size=16).hexdigest()
    return await cache.through(f"search:{digest}:{paging.page}:{paging.page_size}", load)


async def assortment(
    store: Store, cache: CatalogCache, held: str | None
) -> tuple[str | None, bytes | None]:
    """The assortment's version and body; no body when the caller holds that version.

    The version is read before the body, so a body is never labelled newer than it is: at
    worst a write in between makes the caller fetch it once more.
    """
    version = await cache.version()
    if version is not None and version == held:
        return version, None

    async def load() -> bytes:
        return orjson.dumps(await store.assortment())

    return version, await cache.through("assortment", load)


async def categories(store: Store, cache: CatalogCache) -> bytes:
    async def load() -> bytes:
        return orjson.dumps(CategoryList(tuple(await store.categories())))

    return await cache.through("categories", load)


async def save_product(
    store: Store, cache: CatalogCache, product_id: str, draft: ProductDraft
) -> tuple[Product, bool]:
    """Create or replace; the product and whether it was created."""
    saved = draft.to_product(product_id)
    created = await store.save(saved)
    await cache.invalidate()
    return saved, created


async def revise_product(
    store: Store, cache: CatalogCache, product_id: str, changes: ProductChanges
) -> Product:
    revised = await store.revise(product_id, changes.apply_to)
    await cache.invalidate()
    return revised
