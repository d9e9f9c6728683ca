"""Postgres: orders with their saga state and lease, and the outbox.

The lease makes one driver at a time: a live checkout or the recovery takes it with one
conditional UPDATE (free, expired, or already its own), and every save is fenced by it (a
driver whose lease was taken over saves nothing, `LeaseLost`). A save that ends the saga
writes its event to the outbox in the same statement (a CTE: the event's row is inserted
only from the order's updated row, so both are written or neither).

Every call is one statement, run on `Database.autocommit`: a statement is its own
transaction, so Postgres sees no BEGIN and COMMIT (or ROLLBACK) around it, two round trips
fewer per call (docs/performance.md, issue 16, "Round 3: checkout"). `inspect`, an
operator's two reads that must agree, keeps a transaction.

Long because every statement on the `orders` table is here, so the lease's
conditions (who may take, renew, save) are read and changed side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chassis import Database, get_logger
from chassis.tracing import current_traceparent
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from orders import keys, rows
from orders.domain import Order, Owner, Step
from orders.events import OutboxEvent
from orders.ports import LeaseLost
from orders.shapes import address_json

_log = get_logger("orders.store")

COLUMNS = (
    "id, owner_kind, owner_id, email, currency, shipping_option, address, step, cart_id,"
    " lines, shipping, charge_id, shipment_id, tracking_id, failure, cart_cleared,"
    " placed_at, settle_until, given_name"
)
# Not finished: running, confirmed with the cart's lines still there, or cancelled and
# still settling. The same condition as the partial index `orders_unfinished`.
UNFINISHED = (
    "(step <> 'cancelled' OR settle_until IS NOT NULL)"
    " AND NOT (step = 'confirmed' AND cart_cleared)"
)


class OrderMissing(RuntimeError):
    """An order this process created or holds is not in the database: orders are never
    deleted, so the database is not the one the order was written to (or was restored)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} is missing from the database")
        self.order_id = order_id


@dataclass(frozen=True, slots=True)
class Claim:
    """An order found or created under a checkout's key."""

    order: Order
    fingerprint: bytes
    sealed_token: bytes
    created: bool


@dataclass(frozen=True, slots=True)
class NewOrder:
    order: Order
    key_hash: bytes
    fingerprint: bytes
    token_hash: bytes
    sealed_token: bytes


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    event_id: str
    type: str
    version: int
    created_at: datetime
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class Inspection:
    """An order as an operator sees it: the saga's state, its lease, its events."""

    order: Order
    lease_holder: str | None
    lease_until: datetime
    lease_expired: bool
    updated_at: datetime
    events: list[OutboxEntry]


_JSON = (bindparam("address", type_=JSONB),)
_SAVE_JSON = (
    bindparam("lines", type_=JSONB),
    bindparam("shipping", type_=JSONB),
    bindparam("failure", type_=JSONB),
)


# The fenced save: the order's row, only while `holder` has its lease.
_UPDATE = (
    "UPDATE orders SET step = :step, cart_id = :cart_id, lines = :lines,"
    " shipping = :shipping, subtotal = :subtotal, total = :total,"
    " charge_id = :charge_id, shipment_id = :shipment_id,"
    " tracking_id = :tracking_id, failure = :failure,"
    " cart_cleared = :cart_cleared, settle_until = :settle_until,"
    " updated_at = now(),"
    " key_hash = CASE WHEN :release THEN NULL ELSE key_hash END,"
    " lease_until = now() + make_interval(secs => :lease)"
    " WHERE id = :id AND lease_holder = :holder RETURNING id"
)
_SAVE = text(_UPDATE).bindparams(*_SAVE_JSON)
# ... and the saga's end: its event inserted from the updated row, none if it was fenced.
_SAVE_WITH_EVENT = text(
    f"WITH saved AS ({_UPDATE})"  # noqa: S608
    " INSERT INTO outbox (event_id, type, version, order_id, payload, traceparent)"
    " SELECT :event_id, :type, :version, saved.id, :payload, :traceparent FROM saved"
    " RETURNING order_id"
).bindparams(*_SAVE_JSON, bindparam("payload", type_=JSONB))


class Store:
    def __init__(self, database: Database, *, lease_seconds: float) -> None:
        self.database = database
        self.lease = lease_seconds

    async def claim(self, new: NewOrder, holder: str) -> Claim:
        """Create the order under its key, leased to `holder`; or find the order the key
        already made. Concurrent claims of one key wait on the unique index: one creates."""
        order = new.order
        async with self.database.autocommit.connect() as connection:
            result = await connection.execute(
                text(
                    f"INSERT INTO orders (id, owner_kind, owner_id, key_hash, fingerprint, email,"  # noqa: S608
                    " currency, shipping_option, address, step, status_token_hash,"
                    " status_token_sealed, lease_holder, lease_until, given_name)"
                    " VALUES (:id, :owner_kind, :owner_id, :key_hash, :fingerprint, :email,"
                    " :currency, :option, :address, :step, :token_hash, :sealed,"
                    " :holder, now() + make_interval(secs => :lease), :given_name)"
                    " ON CONFLICT (key_hash) WHERE key_hash IS NOT NULL DO NOTHING"
                    f" RETURNING {COLUMNS}"
                ).bindparams(*_JSON),
                {
                    "id": order.id,
                    "owner_kind": order.owner.kind,
                    "owner_id": order.owner.id,
                    "key_hash": new.key_hash,
                    "fingerprint": new.fingerprint,
                    "email": order.email,
                    "currency": order.currency,
                    "option": order.shipping_option,
                    "address": address_json(order.address),
                    "step": Step.PRICING.value,
                    "token_hash": new.token_hash,
                    "sealed": new.sealed_token,
                    "holder": holder,
                    "lease": self.lease,
                    "given_name": order.given_name,
                },
            )
            created = result.first()
        if created is not None:
            # The row as inserted, from RETURNING: no second read of what was just written.
            _log.info("order placed", order_id=order.id)
            return Claim(rows.order_of(created), new.fingerprint, new.sealed_token, True)
        found = await self.by_key(new.key_hash)
        if found is None:  # released between our insert and this read: claim again
            return await self.claim(new, holder)
        return found

    async def by_key(self, key_hash: bytes) -> Claim | None:
        async with self.database.autocommit.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        f"SELECT {COLUMNS}, fingerprint, status_token_sealed FROM orders"  # noqa: S608
                        " WHERE key_hash = :key"
                    ),
                    {"key": key_hash},
                )
            ).first()
        if row is None:
            return None
        return Claim(rows.order_of(row), row.fingerprint, row.status_token_sealed, False)

    async def take_lease(self, order_id: str, holder: str) -> Order | None:
        """The unfinished order, now leased to `holder`; None if someone else holds it."""
        async with self.database.autocommit.connect() as connection:
            taken = (
                await connection.execute(
                    text(
                        "UPDATE orders SET lease_holder = :holder,"  # noqa: S608
                        " lease_until = now() + make_interval(secs => :lease)"
                        " WHERE id = :id AND (lease_until < now() OR lease_holder = :holder)"
                        f" AND {UNFINISHED} RETURNING {COLUMNS}"
                    ),
                    {"id": order_id, "holder": holder, "lease": self.lease},
                )
            ).first()
        return rows.order_of(taken) if taken is not None else None

    async def renew_lease(self, order_id: str, holder: str) -> bool:
        """The heartbeat: the lease extended while `holder` still has it; False once lost."""
        async with self.database.autocommit.connect() as connection:
            renewed = await connection.scalar(
                text(
                    "UPDATE orders SET lease_until = now() + make_interval(secs => :lease)"
                    " WHERE id = :id AND lease_holder = :holder RETURNING id"
                ),
                {"id": order_id, "holder": holder, "lease": self.lease},
            )
            return renewed is not None

    async def release_lease(self, order_id: str, holder: str) -> None:
        """Let the next driver take the order at once (the holder stays on record, and a
        save of this holder is still fenced: it succeeds only if nobody took it since)."""
        async with self.database.autocommit.connect() as connection:
            await connection.execute(
                text(
                    "UPDATE orders SET lease_until = now() - interval '1 millisecond'"
                    " WHERE id = :id AND lease_holder = :holder"
                ),
                {"id": order_id, "holder": holder},
            )

    async def new_status_link(self, order_id: str, holder: str) -> str | None:
        """A second guest link for an order whose first token only the shopper's key can
        unseal (a driver without the key, the recovery, announces the order with this
        one); stored hashed like the first. None if the lease was lost."""
        token = keys.new_token()
        async with self.database.autocommit.connect() as connection:
            stored = await connection.scalar(
                text(
                    "UPDATE orders SET recovered_token_hash = :hash"
                    " WHERE id = :id AND lease_holder = :holder RETURNING id"
                ),
                {"id": order_id, "holder": holder, "hash": keys.token_hash(token)},
            )
        return token if stored is not None else None

    async def save(self, order: Order, holder: str, event: OutboxEvent | None = None) -> None:
        values = {
            "id": order.id,
            "holder": holder,
            "lease": self.lease,
            "step": order.step.value,
            "cart_id": order.cart_id,
            "lines": rows.lines_json(order.lines),
            "shipping": rows.shipping_json(order.shipping),
            "subtotal": order.subtotal.amount if order.lines else None,
            "total": order.total.amount if order.shipping else None,
            "charge_id": order.charge_id,
            "shipment_id": order.shipment_id,
            "tracking_id": order.tracking_id,
            "failure": rows.failure_json(order.failure),
            "cart_cleared": order.cart_cleared,
            "settle_until": order.settle_until,
            "release": order.key_released,
        }
        statement = _SAVE
        if event is not None:
            statement = _SAVE_WITH_EVENT
            values |= {
                "event_id": event.id,
                "type": event.type,
                "version": event.version,
                "payload": event.envelope(),
                # the relay publishes in the trace of the work that wrote it
                "traceparent": current_traceparent(),
            }
        async with self.database.autocommit.connect() as connection:
            saved = await connection.scalar(statement, values)
        if saved is None:
            raise LeaseLost(order.id)

    async def stale(self, limit: int) -> list[str]:
        """Unfinished orders whose lease has expired: the recovery's work, oldest first."""
        async with self.database.autocommit.connect() as connection:
            found = await connection.scalars(
                text(
                    f"SELECT id FROM orders WHERE {UNFINISHED} AND lease_until < now()"  # noqa: S608
                    " ORDER BY lease_until LIMIT :limit"
                ),
                {"limit": limit},
            )
            return [str(order_id) for order_id in found]

    async def order(self, order_id: str) -> Order | None:
        async with self.database.autocommit.connect() as connection:
            return await _find(connection, "id = :id", {"id": order_id})

    async def existing(self, order_id: str) -> Order:
        """An order known to exist (this driver created it or holds it); OrderMissing if not."""
        async with self.database.autocommit.connect() as connection:
            return await _order(connection, order_id)

    async def inspect(self, order_id: str) -> Inspection | None:
        async with self.database.engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        f"SELECT {COLUMNS}, lease_holder, lease_until,"  # noqa: S608
                        " lease_until < now() AS lease_expired, updated_at"
                        " FROM orders WHERE id = :id"
                    ),
                    {"id": order_id},
                )
            ).first()
            if row is None:
                return None
            events = await connection.execute(
                text(
                    "SELECT event_id, type, version, created_at, published_at FROM outbox"
                    " WHERE order_id = :id ORDER BY seq"
                ),
                {"id": order_id},
            )
            return Inspection(
                rows.order_of(row),
                row.lease_holder,
                row.lease_until,
                row.lease_expired,
                row.updated_at,
                [
                    OutboxEntry(str(e.event_id), e.type, e.version, e.created_at, e.published_at)
                    for e in events
                ],
            )

    async def owned(self, owner: Owner, order_id: str) -> Order | None:
        async with self.database.autocommit.connect() as connection:
            return await _find(
                connection,
                "id = :id AND owner_kind = :kind AND owner_id = :owner",
                {"id": order_id, "kind": owner.kind, "owner": owner.id},
            )

    async def by_token(self, token_hash: bytes) -> Order | None:
        async with self.database.autocommit.connect() as connection:
            return await _find(
                connection,
                "(status_token_hash = :hash OR recovered_token_hash = :hash)",
                {"hash": token_hash},
            )

    async def history(self, owner: Owner, limit: int) -> list[Order]:
        async with self.database.autocommit.connect() as connection:
            result = await connection.execute(
                text(
                    f"SELECT {COLUMNS} FROM orders WHERE owner_kind = :kind AND owner_id = :owner"  # noqa: S608
                    " ORDER BY placed_at DESC, id LIMIT :limit"
                ),
                {"kind": owner.kind, "owner": owner.id, "limit": limit},
            )
            return [rows.order_of(row) for row in result]


async def _find(connection: AsyncConnection, where: str, params: dict[str, object]) -> Order | None:
    """`where` is one of this module's constant conditions, never input."""
    query = text(f"SELECT {COLUMNS} FROM orders WHERE {where}")  # noqa: S608
    row = (await connection.execute(query, params)).first()
    return rows.order_of(row) if row is not None else None


async def _order(connection: AsyncConnection, order_id: str) -> Order:
    found = await _find(connection, "id = :id", {"id": order_id})
    if found is None:
        raise OrderMissing(order_id)
    return found
