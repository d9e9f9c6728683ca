"""Persistence for the tasks: many products written in one transaction, all read in order.

An import is an upsert by product id that only touches a row whose values differ, so
running the same file twice changes nothing (not even `updated_at`), and the counts say
what changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from chassis import Database
from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from catalog.domain import Product
from catalog.store import CREATED, PRODUCT_COLUMNS, categories, product_of, products, row_of

# Rows per INSERT: 8 parameters each, far under Postgres' 65,535 per statement.
_BATCH = 500
_COMPARED = ("category", "name", "description", "price_amount", "price_currency", "tags")


@dataclass(frozen=True)
class Imported:
    created: int
    updated: int
    unchanged: int


async def category_slugs(database: Database) -> frozenset[str]:
    async with database.engine.connect() as connection:
        return frozenset((await connection.execute(select(categories.c.slug))).scalars())


async def upsert_products(
    database: Database,
    items: Sequence[Product],
    on_batch: Callable[[int], None] = lambda done: None,
) -> Imported:
    """Create or replace every product in one transaction: all of them or none."""
    created = updated = 0
    async with database.engine.begin() as connection:
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            rows = insert(products).values([row_of(p) for p in batch])
            new = rows.excluded
            statement = rows.on_conflict_do_update(
                index_elements=[products.c.id],
                set_={**{c: new[c] for c in _COMPARED}, "updated_at": func.now()},
                # Only a row whose values differ: a second run of one file changes nothing.
                where=tuple_(*(products.c[c] for c in _COMPARED)).is_distinct_from(
                    tuple_(*(new[c] for c in _COMPARED))
                ),
            ).returning(CREATED)
            flags = list((await connection.execute(statement)).scalars())
            created += sum(1 for flag in flags if flag)
            updated += sum(1 for flag in flags if not flag)
            on_batch(start + len(batch))
    return Imported(created, updated, len(items) - created - updated)


async def all_products(database: Database) -> AsyncIterator[Product]:
    """Every product by id, streamed (a server-side cursor: memory stays flat)."""
    query = select(*PRODUCT_COLUMNS).order_by(products.c.id)
    async with database.engine.connect() as connection:
        async for row in await connection.stream(query):
            yield product_of(row)
