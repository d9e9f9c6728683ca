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
