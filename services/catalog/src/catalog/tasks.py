"""catalog's one-off tasks ([tool.mosaic.tasks]): `python -m catalog.tasks import-products
FILE.csv [--skip-bad]` and `export-products [--out FILE]`, with the service's environment
(`mosaic admin run catalog import-products FILE.csv` gives it the running shop's).

An import checks every row first (catalog/product_csv.py) and writes nothing while any row is bad,
unless --skip-bad; then it upserts the good rows in one transaction and retires every
cached read the way the API's writes do (a new cache generation, after the commit).
Progress goes to stderr, the outcome to stdout; the export writes the same columns, so
importing an export changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from chassis import Cache, Database, Resources, load_settings
from chassis.logs import configure_logging_from
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from catalog import store_bulk
from catalog.cache import CatalogCache, InvalidationFailed
from catalog.product_csv import BadHeader, read_products, write_products
from catalog.settings import TaskSettings

IMPORT_HELP = """\
Create or replace products from a CSV file, by id: all of them, or none while any row is
bad (each bad row is reported with its line number and reason; exit code 1). --skip-bad
imports the good rows anyway. The columns (the header names them, in any order; tags and
picture may be left out):

  id              a slug: a-z, 0-9 and single hyphens (e.g. ceramic-pour-over)
  name            one line, up to 120 characters
  description     up to 2000 characters (may span lines inside "quotes")
  category        the slug of an existing category
  price_amount    integer minor units: 1250 for $12.50 (never 12.50)
  price_currency  USD (the catalog's one currency)
  tags            slugs separated by spaces
  picture         its path, which follows from the id (/v1/pictures/ID.svg), or empty

One transaction; then every cached read is retired. Running a file twice changes nothing;
export-products writes this format. Exit codes: 0 imported, 1 bad rows, 2 unreadable file,
3 imported but the cache could not be retired (run it again).
"""
PROGRESS_EVERY = 1000  # rows between two progress lines on stderr
EXIT_BAD_ROWS = 1
EXIT_UNREADABLE = 2
EXIT_CACHE = 3


def _progress(what: str, err: TextIO) -> Callable[[int], None]:
    def say(done: int) -> None:
        if done % PROGRESS_EVERY == 0:
            print(f"{what} {done} rows…", file=err, flush=True)

    return say


def _opened(path: Path) -> TextIO:
    """The file, or standard input for `-` (a container or pod reads the operator's file
    through `exec -i` / `run -i`: its own filesystem has no copy of it)."""
    if str(path) == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    return path.open(newline="", encoding="utf-8-sig")


async def import_products(
    path: Path,
    skip_bad: bool,
    database: Database,
    cache: CatalogCache,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Check and import `path`; the exit code."""
    known = await store_bulk.category_slugs(database)
    try:
        with _opened(path) as stream:
            reading = read_products(stream, known, _progress("checked", err))
    except (OSError, UnicodeDecodeError, BadHeader) as error:
        print(f"{path}: {error}", file=err)
        print("Nothing was imported. Fix the file and run the task again.", file=err)
        return EXIT_UNREADABLE
    for problem in reading.problems:
        print(f"{path}, {problem}", file=err)
    if reading.problems and not skip_bad:
        print(
            f"{len(reading.problems)} of {reading.rows} rows are bad; nothing was imported. "
            "Fix them, or pass --skip-bad to import the other rows.",
            file=err,
        )
        return EXIT_BAD_ROWS
    imported = await store_bulk.upsert_products(
        database, reading.products, _progress("imported", err)
    )
    try:
        await cache.invalidate()
    except InvalidationFailed:
        print(
            "imported, but the cache could not be retired: shoppers may see old products "
            "until it expires. Run the import again once Valkey is back.",
            file=err,
        )
        return EXIT_CACHE
    skipped = f", skipped (bad): {len(reading.problems)}" if reading.problems else ""
    print(
        f"created: {imported.created}, updated: {imported.updated}, "
        f"unchanged: {imported.unchanged}{skipped}",
        file=out,
    )
    return 0


async def export_products(database: Database, out: TextIO) -> int:
    """Write every product to `out`; how many."""
    return write_products([p async for p in store_bulk.all_products(database)], out)


async def _run(arguments: argparse.Namespace, settings: TaskSettings, out: TextIO) -> int:
    database = Database(settings.database_url, pool_size=2)
    cache = Cache(settings.redis_url, prefix="catalog")
    resources = Resources([database, cache])
    await resources.start(settings.startup_timeout_seconds)
    try:
        if arguments.task == "import-products":
            catalog_cache = CatalogCache(cache, ttl_seconds=settings.cache_ttl_seconds)
            return await import_products(
                arguments.file, arguments.skip_bad, database, catalog_cache, out
            )
        if arguments.out is None:
            await export_products(database, out)
            return 0
        partial = arguments.out.with_name(f".{arguments.out.name}.partial")
        with partial.open("w", newline="", encoding="utf-8") as out:
            count = await export_products(database, out)
        partial.replace(arguments.out)  # never a half-written file under its name
        print(f"exported {count} products to {arguments.out}", file=sys.stderr)
        return 0
    finally:
        await resources.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catalog.tasks", description=__doc__.split("\n\n")[0]
    )
    tasks = parser.add_subparsers(dest="task", required=True, metavar="TASK")
    importing = tasks.add_parser(
        "import-products",
        help="create or replace products from a CSV file (all or nothing)",
        description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importing.add_argument(
        "file", type=Path, metavar="FILE.csv", help="the products to import (- for stdin)"
    )
    importing.add_argument(
        "--skip-bad", action="store_true", help="import the good rows even when some are bad"
    )
    exporting = tasks.add_parser(
        "export-products", help="write every product as CSV (the columns import-products reads)"
    )
    exporting.add_argument(
        "--out", type=Path, metavar="FILE", help="write to FILE (default: standard output)"
    )
    arguments = parser.parse_args(argv)
    settings = load_settings(TaskSettings)
    configure_logging_from(settings)
    out = sys.stdout
    try:
        # Logs go to stderr: stdout carries the outcome, or the export itself.
        with contextlib.redirect_stdout(sys.stderr):
            return asyncio.run(_run(arguments, settings, out))
    except (OSError, RedisError, SQLAlchemyError) as error:
        print(f"catalog.tasks {arguments.task}: {error}", file=sys.stderr)
        undone = "Nothing was imported. " if arguments.task == "import-products" else ""
        print(
            f"{undone}Check the file and that the shop is up, then run it again.", file=sys.stderr
        )
        return EXIT_UNREADABLE


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
