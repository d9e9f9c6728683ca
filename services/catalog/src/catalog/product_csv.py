"""Products as CSV: the file `import-products` reads and `export-products` writes. No I/O
beyond the stream it is given.

One row per product, with the columns in `COLUMNS`: the price as integer minor units and
its currency (never a decimal: 1250 USD is $12.50), tags separated by spaces, and the
picture's path, which follows from the id (read-only, as through the API). A row is
checked by the same rules as a PUT of that product (`ProductDraft`), plus: its category
exists, and no other row has its id. Line numbers are the file's, the header being line 1.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from pydantic import ValidationError

from catalog.domain import CatalogError, Product, UnknownCategory
from catalog.schemas import ProductDraft

COLUMNS = (
    "id",
    "name",
    "description",
    "category",
    "price_amount",
    "price_currency",
    "tags",
    "picture",
)
REQUIRED = frozenset(COLUMNS) - {"tags", "picture"}
_MINOR_UNITS = re.compile(r"^[0-9]+$")


class BadHeader(Exception):
    """The header does not name the columns a product needs: no row can be read."""


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Reading:
    """What a file held: the products of its good rows and the reasons of its bad ones."""

    products: list[Product] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0


def read_products(
    stream: TextIO,
    categories: frozenset[str],
    on_row: Callable[[int], None] = lambda rows: None,
) -> Reading:
    """Every row of `stream` checked; `on_row(rows so far)` after each, for progress."""
    reading = Reading()
    seen: dict[str, int] = {}
    rows = _rows(stream)
    header = _header(next(rows, (1, []))[1])
    for line, values in rows:
        reading.rows += 1
        try:
            product = _product(header, values)
            if product.category not in categories:
                raise UnknownCategory(product.category)
            if product.id in seen:
                raise CatalogError(f"id: {product.id!r} is already on line {seen[product.id]}")
        except (_RowError, CatalogError) as error:
            reading.problems.append(Problem(line, str(error)))
        else:
            seen[product.id] = line
            reading.products.append(product)
        on_row(reading.rows)
    return reading


def write_products(products: Iterable[Product], stream: TextIO) -> int:
    """Write the header and a row per product; how many rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for p in products:
        tags = " ".join(p.tags)
        row = (p.id, p.name, p.description, p.category, p.price.amount, p.price.currency)
        writer.writerow((*row, tags, p.picture))
        count += 1
    return count


class _RowError(Exception):
    pass


def _rows(stream: TextIO) -> Iterator[tuple[int, list[str]]]:
    """(line the row starts on, its values); blank lines skipped. A quoted value may span
    lines, so the start is one past where the previous row ended."""
    reader = csv.reader(stream, strict=True)
    ended = 0
    try:
        for values in reader:
            line, ended = ended + 1, reader.line_num
            if values:
                yield line, values
    except csv.Error as error:
        raise BadHeader(f"line {reader.line_num}: not CSV ({error}); nothing was read") from None


def _header(header: list[str]) -> list[str]:
    if missing := sorted(REQUIRED - set(header)):
        raise BadHeader(
            f"line 1: the header lacks {', '.join(missing)}; it names the columns "
            f"{','.join(COLUMNS)} (tags and picture may be left out)"
        )
    if unknown := [c for c in header if c not in COLUMNS]:
        raise BadHeader(f"line 1: unknown column {unknown[0]!r}; the columns: {','.join(COLUMNS)}")
    if len(set(header)) != len(header):
        raise BadHeader("line 1: a column is named twice")
    return header


def _product(header: list[str], values: list[str]) -> Product:
    if len(values) != len(header):
        raise _RowError(f"{len(values)} values where the header names {len(header)} columns")
    row = dict(zip(header, values, strict=True))
    amount = row["price_amount"].strip()
    if not _MINOR_UNITS.match(amount):
        raise _RowError(
            f"price_amount: {amount!r} is not integer minor units (cents: 1250 for 12.50)"
        )
    draft = {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "category": row["category"],
        "price": {"amount": int(amount), "currency": row["price_currency"].strip()},
        "tags": row.get("tags", "").split(),
        "picture": row.get("picture") or None,
    }
    try:
        return ProductDraft.model_validate(draft).to_product(row["id"])
    except ValidationError as error:
        raise _RowError("; ".join(_reason(e) for e in error.errors())) from None


def _reason(error: object) -> str:
    assert isinstance(error, dict)
    where = [str(part) for part in error["loc"] if not isinstance(part, int)]
    column = "price_" + where[1] if where[:1] == ["price"] and len(where) > 1 else where[0]
    return f"{column}: {error['msg']}"
