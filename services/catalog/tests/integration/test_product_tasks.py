"""`import-products` and `export-products` on real Postgres and Valkey: all or nothing,
bad rows by line number, idempotent by id, the cache retired, export then import a no-op."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from catalog import store_bulk
from catalog.cache import CatalogCache
from catalog.domain import Money, Product
from catalog.product_csv import COLUMNS
from catalog.tasks import export_products, import_products
from chassis import Cache, Database
from sqlalchemy.exc import IntegrityError

from .conftest import Urls

HEADER = ",".join(COLUMNS)
MUG = "test-mug,Test Mug,A mug for tests.,kitchen,1500,USD,mug test,"
LAMP = "test-lamp,Test Lamp,A lamp for tests.,home,4200,USD,,"
# Lines 3, 5 and 6 are bad: a decimal price, an unknown category, an id with a space.
WITH_BAD_ROWS = (
    f"{HEADER}\n{MUG}\n"
    "test-pot,Test Pot,A pot.,kitchen,12.50,USD,,\n"
    f"{LAMP}\n"
    "test-rake,Test Rake,A rake.,garden,900,USD,,\n"
    "test bowl,Test Bowl,A bowl.,kitchen,700,USD,,\n"
)


@pytest.fixture
async def database(urls: Urls) -> AsyncIterator[Database]:
    database = Database(urls.database, pool_size=2)
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def cache(urls: Urls) -> AsyncIterator[CatalogCache]:
    cache = Cache(urls.redis, prefix="catalog")
    await cache.open()
    yield CatalogCache(cache, ttl_seconds=300)
    await cache.close()


async def run_import(
    tmp_path: Path, text: str, database: Database, cache: CatalogCache, *, skip_bad: bool = False
) -> tuple[int, str, str]:
    path = tmp_path / "products.csv"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    code = await import_products(path, skip_bad, database, cache, out, err)
    return code, out.getvalue(), err.getvalue()


async def test_imported_products_are_served(
    tmp_path: Path, database: Database, cache: CatalogCache, client: httpx.AsyncClient
) -> None:
    code, out, _ = await run_import(tmp_path, f"{HEADER}\n{MUG}\n{LAMP}\n", database, cache)
    assert (code, out) == (0, "created: 2, updated: 0, unchanged: 0\n")
    mug = (await client.get("/v1/products/test-mug")).json()
    assert mug["price"] == {"amount": 1500, "currency": "USD"}
    assert mug["tags"] == ["mug", "test"]


async def test_three_bad_rows_are_reported_by_line_and_nothing_is_imported(
    tmp_path: Path, database: Database, cache: CatalogCache, db: asyncpg.Connection
) -> None:
    code, out, err = await run_import(tmp_path, WITH_BAD_ROWS, database, cache)
    assert code == 1 and out == ""
    reported = [line for line in err.splitlines() if ", line " in line]
    assert [line.split(", line ")[1].split(":")[0] for line in reported] == ["3", "5", "6"]
    assert "price_amount" in reported[0] and "garden" in reported[1] and "id" in reported[2]
    assert "3 of 5 rows are bad; nothing was imported" in err
    assert await db.fetchval("SELECT count(*) FROM products WHERE id LIKE 'test-%'") == 0


async def test_skip_bad_imports_the_other_rows(
    tmp_path: Path, database: Database, cache: CatalogCache, db: asyncpg.Connection
) -> None:
    code, out, err = await run_import(tmp_path, WITH_BAD_ROWS, database, cache, skip_bad=True)
    assert code == 0, err
    assert out == "created: 2, updated: 0, unchanged: 0, skipped (bad): 3\n"
    ids = await db.fetch("SELECT id FROM products WHERE id LIKE 'test-%' ORDER BY id")
    assert [row["id"] for row in ids] == ["test-lamp", "test-mug"]


async def test_importing_twice_changes_nothing(
    tmp_path: Path, database: Database, cache: CatalogCache, db: asyncpg.Connection
) -> None:
    text = f"{HEADER}\n{MUG}\n{LAMP}\n"
    await run_import(tmp_path, text, database, cache)
    query = "SELECT id, price_amount, updated_at FROM products WHERE id LIKE 'test-%' ORDER BY id"
    before = await db.fetch(query)
    code, out, _ = await run_import(tmp_path, text, database, cache)
    assert (code, out) == (0, "created: 0, updated: 0, unchanged: 2\n")
    assert await db.fetch(query) == before  # not even updated_at moved

    code, out, _ = await run_import(tmp_path, text.replace(",1500,", ",1600,"), database, cache)
    assert out == "created: 0, updated: 1, unchanged: 1\n"


async def test_export_then_import_changes_nothing(
    tmp_path: Path, database: Database, cache: CatalogCache, db: asyncpg.Connection
) -> None:
    await run_import(tmp_path, f"{HEADER}\n{MUG}\n", database, cache)
    exported = io.StringIO()
    count = await export_products(database, exported)
    assert count == await db.fetchval("SELECT count(*) FROM products") > 1
    assert exported.getvalue().splitlines()[0] == HEADER
    code, out, _ = await run_import(tmp_path, exported.getvalue(), database, cache)
    assert (code, out) == (0, f"created: 0, updated: 0, unchanged: {count}\n")


async def test_an_import_retires_the_cached_product_page(
    tmp_path: Path, database: Database, cache: CatalogCache, client: httpx.AsyncClient
) -> None:
    await run_import(tmp_path, f"{HEADER}\n{MUG}\n", database, cache)
    assert (await client.get("/v1/products/test-mug")).json()["price"]["amount"] == 1500
    listing: dict[str, str | int] = {"category": "kitchen", "page_size": 100}
    await client.get("/v1/products", params=listing)  # cached too

    await run_import(tmp_path, f"{HEADER}\n{MUG.replace(',1500,', ',1750,')}\n", database, cache)
    assert (await client.get("/v1/products/test-mug")).json()["price"]["amount"] == 1750
    items = (await client.get("/v1/products", params=listing)).json()["items"]
    assert next(p for p in items if p["id"] == "test-mug")["price"]["amount"] == 1750


async def test_the_upsert_is_one_transaction(
    database: Database, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row Postgres refuses (its category deleted since the file was checked) takes the
    rows before it back with it, across batches."""
    monkeypatch.setattr(store_bulk, "_BATCH", 1)
    good = Product("test-cup", "Cup", "A cup.", "kitchen", Money(100, "USD"), "", ())
    gone = Product("test-hoe", "Hoe", "A hoe.", "no-such-category", Money(100, "USD"), "", ())
    with pytest.raises(IntegrityError):
        await store_bulk.upsert_products(database, [good, gone])
    assert await db.fetchval("SELECT count(*) FROM products WHERE id LIKE 'test-%'") == 0


async def test_a_large_file_shows_progress_on_stderr(
    tmp_path: Path, database: Database, cache: CatalogCache
) -> None:
    rows = "".join(f"test-bulk-{n},Bulk {n},Item {n}.,home,{n},USD,,\n" for n in range(2500))
    code, out, err = await run_import(tmp_path, f"{HEADER}\n{rows}", database, cache)
    assert (code, out) == (0, "created: 2500, updated: 0, unchanged: 0\n")
    assert err.splitlines() == [
        "checked 1000 rows…",
        "checked 2000 rows…",
        "imported 1000 rows…",
        "imported 2000 rows…",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "No such file"),
        ("id,name\ntest-mug,Mug\n", "line 1: the header lacks"),
        (b"\xff\xfe\x00bad", "can't decode"),
    ],
)
async def test_an_unreadable_file_is_one_reason_and_exit_2(
    tmp_path: Path, database: Database, cache: CatalogCache, text: str | bytes | None, reason: str
) -> None:
    path = tmp_path / "products.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    assert await import_products(path, False, database, cache, out, err) == 2
    first, second = err.getvalue().splitlines()
    assert first.startswith(f"{path}: ") and reason in first
    assert second == "Nothing was imported. Fix the file and run the task again."
