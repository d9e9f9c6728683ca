"""Postgres queries. Every change to a cart runs in one transaction that first locks the
cart's row, owner checked in the same statement: concurrent changes to one cart take turns
(no lost update, the line limit holds), and someone else's cart is simply not found.

Reads, and opening a cart, are single statements on `Database.autocommit`: no BEGIN and
ROLLBACK (or COMMIT) around them, two round trips fewer each (a statement is its own
transaction and sees one snapshot; opening reads again when its INSERT found a cart
another request had just made, so it needs no transaction around its two statements)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import Database
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from cart.domain import Cart, CartNotFound, Line, LineNotFound, Owner, added, merged


def _queries(column: str) -> dict[str, TextClause]:
    """The queries that name the owner's column; built once, from constants only."""
    return {
        "find": text(f"SELECT id FROM carts WHERE {column} = :owner"),  # noqa: S608
        "owned": text(f"SELECT id FROM carts WHERE id = :id AND {column} = :owner"),  # noqa: S608
        # A read in one statement: the cart's row and its lines (none: one row of NULLs).
        "find_lines": text(
            f"SELECT carts.id, product_id, quantity FROM carts"  # noqa: S608
            f" LEFT JOIN cart_lines ON cart_lines.cart_id = carts.id WHERE {column} = :owner"
            " ORDER BY added_at, product_id"
        ),
        "owned_lines": text(
            f"SELECT carts.id, product_id, quantity FROM carts"  # noqa: S608
            " LEFT JOIN cart_lines ON cart_lines.cart_id = carts.id"
            f" WHERE carts.id = :id AND {column} = :owner ORDER BY added_at, product_id"
        ),
        # The change's lock and its touch in one statement: an UPDATE locks the row against
        # every other change (they lock it too), and now() is the transaction's start time
        # wherever in the transaction it is read.
        "lock": text(
            f"UPDATE carts SET updated_at = now() WHERE id = :id AND {column} = :owner"  # noqa: S608
            " RETURNING id"
        ),
        "create": text(
            f"INSERT INTO carts (id, {column}) VALUES (gen_random_uuid(), :owner)"  # noqa: S608
            f" ON CONFLICT ({column}) DO NOTHING RETURNING id"
        ),
    }


_BY_OWNER = {"visitor": _queries("visitor_id"), "user": _queries("user_id")}


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def open(self, owner: Owner) -> tuple[Cart, bool]:
        """The owner's cart, created if it has none; and whether it was created now."""
        async with self.database.autocommit.connect() as connection:
            return await _open_with_lines(connection, owner)

    async def find(self, owner: Owner) -> Cart | None:
        """The owner's cart, if they have one."""
        return await self._read("find_lines", {"owner": owner.id}, owner)

    async def cart(self, owner: Owner, cart_id: str) -> Cart:
        found = await self._read("owned_lines", {"id": cart_id, "owner": owner.id}, owner)
        if found is None:
            raise CartNotFound
        return found

    async def check_owned(self, owner: Owner, cart_id: str) -> None:
        """CartNotFound unless the cart is the owner's: one indexed read, no lines."""
        async with self.database.autocommit.connect() as connection:
            found = await connection.scalar(
                _BY_OWNER[owner.kind]["owned"], {"id": cart_id, "owner": owner.id}
            )
        if found is None:
            raise CartNotFound

    async def _read(self, query: str, params: dict[str, str], owner: Owner) -> Cart | None:
        """A cart and its lines in one statement (one round trip, not one per table)."""
        async with self.database.autocommit.connect() as connection:
            return await _cart_with_lines(connection, _BY_OWNER[owner.kind][query], params)

    async def add(self, owner: Owner, cart_id: str, product_id: str, quantity: int) -> Cart:
        async with self._changing(owner, cart_id) as connection:
            total = added(await _lines(connection, cart_id), product_id, quantity)
            await connection.execute(
                text(
                    "INSERT INTO cart_lines (cart_id, product_id, quantity)"
                    " VALUES (:cart, :product, :quantity)"
                    " ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = :quantity"
                ),
                {"cart": cart_id, "product": product_id, "quantity": total},
            )
            return Cart(cart_id, await _lines(connection, cart_id))

    async def set_quantity(
        self, owner: Owner, cart_id: str, product_id: str, quantity: int
    ) -> Cart:
        async with self._changing(owner, cart_id) as connection:
            changed = await connection.scalar(
                text(
                    "UPDATE cart_lines SET quantity = :quantity"
                    " WHERE cart_id = :cart AND product_id = :product RETURNING product_id"
                ),
                {"cart": cart_id, "product": product_id, "quantity": quantity},
            )
            if changed is None:
                raise LineNotFound(product_id)
            return Cart(cart_id, await _lines(connection, cart_id))

    async def remove(self, owner: Owner, cart_id: str, product_id: str) -> None:
        async with self._changing(owner, cart_id) as connection:
            await connection.execute(
                text("DELETE FROM cart_lines WHERE cart_id = :cart AND product_id = :product"),
                {"cart": cart_id, "product": product_id},
            )

    async def clear(self, owner: Owner, cart_id: str) -> None:
        async with self._changing(owner, cart_id) as connection:
            await connection.execute(
                text("DELETE FROM cart_lines WHERE cart_id = :cart"), {"cart": cart_id}
            )

    async def merge(self, user: Owner, visitor: Owner) -> Cart:
        """Move the visitor's lines into the user's cart and delete the visitor's cart, in
        one transaction. Repeating it finds no visitor cart and changes nothing."""
        async with self.database.engine.begin() as connection:
            user_cart, _ = await _open(connection, user)
            # Both rows locked in one statement, in id order: two merges cannot deadlock.
            rows = await connection.execute(
                text(
                    "SELECT id, visitor_id FROM carts WHERE id = :user_cart"
                    " OR visitor_id = :visitor ORDER BY id FOR UPDATE"
                ),
                {"user_cart": user_cart, "visitor": visitor.id},
            )
            visitor_cart = next((row.id for row in rows if row.visitor_id is not None), None)
            if visitor_cart is not None:
                lines = merged(
                    await _lines(connection, user_cart), await _lines(connection, visitor_cart)
                )
                await connection.execute(
                    text(
                        "INSERT INTO cart_lines (cart_id, product_id, quantity)"
                        " VALUES (:cart, :product, :quantity)"
                        " ON CONFLICT (cart_id, product_id)"
                        " DO UPDATE SET quantity = excluded.quantity"
                    ),
                    [
                        {"cart": user_cart, "product": line.product_id, "quantity": line.quantity}
                        for line in lines
                    ],
                )
                await connection.execute(
                    text("DELETE FROM carts WHERE id = :id"), {"id": visitor_cart}
                )
                await _touch(connection, user_cart)
            return Cart(user_cart, await _lines(connection, user_cart))

    async def remove_ordered(self, cart_id: str, order_id: str, lines: tuple[Line, ...]) -> Cart:
        """Take what an order bought out of the cart, once per order: each line loses the
        ordered units (gone at zero), so units added since the checkout stay. The order id
        is recorded in the same transaction; a repeat finds it and changes nothing."""
        async with self.database.engine.begin() as connection:
            locked = await connection.scalar(
                text("SELECT id FROM carts WHERE id = :id FOR UPDATE"), {"id": cart_id}
            )
            if locked is None:
                raise CartNotFound
            first = await connection.scalar(
                text(
                    "INSERT INTO cart_orders (order_id, cart_id) VALUES (:order, :cart)"
                    " ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
                ),
                {"order": order_id, "cart": cart_id},
            )
            if first is not None and lines:
                ordered = [
                    {"cart": cart_id, "product": line.product_id, "quantity": line.quantity}
                    for line in lines
                ]
                # One statement a line: the line goes at zero, else loses the ordered units
                # (the two parts touch disjoint rows, under the cart's lock).
                await connection.execute(
                    text(
                        "WITH gone AS (DELETE FROM cart_lines WHERE cart_id = :cart"
                        " AND product_id = :product AND quantity <= :quantity)"
                        " UPDATE cart_lines SET quantity = quantity - :quantity"
                        " WHERE cart_id = :cart AND product_id = :product"
                        " AND quantity > :quantity"
                    ),
                    ordered,
                )
                await _touch(connection, cart_id)
            return Cart(cart_id, await _lines(connection, cart_id))

    @asynccontextmanager
    async def _changing(self, owner: Owner, cart_id: str) -> AsyncIterator[AsyncConnection]:
        """A transaction holding the lock on the owner's cart; CartNotFound if it is not theirs."""
        async with self.database.engine.begin() as connection:
            locked = await connection.scalar(
                _BY_OWNER[owner.kind]["lock"],
                {"id": cart_id, "owner": owner.id},
            )
            if locked is None:
                raise CartNotFound
            yield connection


async def _open_with_lines(connection: AsyncConnection, owner: Owner) -> tuple[Cart, bool]:
    """The owner's cart and whether it was created now: an existing cart (the usual case)
    costs one statement, its row and lines together; a new one its INSERT; a cart another
    request created between the two is read again."""
    queries, params = _BY_OWNER[owner.kind], {"owner": owner.id}
    for _ in range(2):
        found = await _cart_with_lines(connection, queries["find_lines"], params)
        if found is not None:
            return found, False
        created = await connection.scalar(queries["create"], params)
        if created is not None:
            return Cart(str(created), ()), True
    raise CartNotFound  # created and deleted again between the statements: never in practice


async def _cart_with_lines(
    connection: AsyncConnection, query: TextClause, params: dict[str, str]
) -> Cart | None:
    rows = (await connection.execute(query, params)).all()
    if not rows:
        return None
    lines = tuple(Line(row.product_id, row.quantity) for row in rows if row.product_id is not None)
    return Cart(str(rows[0].id), lines)


async def _open(connection: AsyncConnection, owner: Owner) -> tuple[str, bool]:
    queries = _BY_OWNER[owner.kind]
    created = await connection.scalar(queries["create"], {"owner": owner.id})
    if created is not None:
        return str(created), True
    existing = await connection.scalar(queries["find"], {"owner": owner.id})
    return str(existing), False


async def _lines(connection: AsyncConnection, cart_id: str) -> tuple[Line, ...]:
    rows = await connection.execute(
        text(
            "SELECT product_id, quantity FROM cart_lines WHERE cart_id = :cart"
            " ORDER BY added_at, product_id"
        ),
        {"cart": cart_id},
    )
    return tuple(Line(row.product_id, row.quantity) for row in rows)


async def _touch(connection: AsyncConnection, cart_id: str) -> None:
    await connection.execute(
        text("UPDATE carts SET updated_at = now() WHERE id = :id"), {"id": cart_id}
    )
