"""Postgres queries: the ledger (charges, refunds) and the idempotency keys.

`Store.transaction()` gives a `Ledger`: one transaction in which a key is claimed, the
work is written and the answer stored, all or nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from chassis import Database
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from payments.domain import Charge, Failure, Money, Refund
from payments.idempotency import Answer, Stored

_CHARGE_COLUMNS = (
    "id, amount, currency, failure_code, card_brand, card_last4, reference, description, created_at"
)
_REFUND_COLUMNS = "id, charge_id, amount, currency, reason, created_at"


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Ledger]:
        async with self.database.engine.begin() as connection:
            yield Ledger(connection)

    async def charge(self, charge_id: str) -> tuple[Charge, list[Refund]] | None:
        async with self.database.engine.connect() as connection:
            rows = await connection.execute(
                text(f"SELECT {_CHARGE_COLUMNS} FROM charges WHERE id = :id"),  # noqa: S608
                {"id": charge_id},
            )
            found = [_charge(row) for row in rows]
            if not found:
                return None
            return found[0], await _refunds(connection, [found[0].id])

    async def by_reference(self, reference: str) -> list[tuple[Charge, list[Refund]]]:
        """The charges for a reference, oldest first, each with its refunds."""
        async with self.database.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    f"SELECT {_CHARGE_COLUMNS} FROM charges"  # noqa: S608
                    " WHERE reference = :reference ORDER BY created_at, id"
                ),
                {"reference": reference},
            )
            charges = [_charge(row) for row in rows]
            refunds = await _refunds(connection, [c.id for c in charges])
            return [(c, [r for r in refunds if r.charge_id == c.id]) for c in charges]


class Ledger:
    """The writes of one request, in one transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def claim(self, caller: str, key: str, fingerprint: str) -> Stored | None:
        """None when this transaction now holds the key; else what the earlier request
        stored. A concurrent claim of the same key waits here (on the unique index) until
        the transaction holding it ends: then it sees its answer, or takes the key if that
        transaction rolled back."""
        claimed = await self.connection.scalar(
            text(
                "INSERT INTO idempotency_keys (caller, key, fingerprint)"
                " VALUES (:caller, :key, :fingerprint)"
                " ON CONFLICT (caller, key) DO NOTHING RETURNING key"
            ),
            {"caller": caller, "key": key, "fingerprint": fingerprint},
        )
        if claimed is not None:
            return None
        row = (
            await self.connection.execute(
                text(
                    "SELECT fingerprint, response_status, response_body FROM idempotency_keys"
                    " WHERE caller = :caller AND key = :key"
                ),
                {"caller": caller, "key": key},
            )
        ).one()
        if row.response_status is None:  # the claim and its answer commit together
            raise RuntimeError(f"idempotency key {key!r} of {caller!r} has no answer")
        answer = Answer(row.response_status, row.response_body.encode())
        return Stored(row.fingerprint, answer)

    async def answer(self, caller: str, key: str, answer: Answer) -> None:
        await self.connection.execute(
            text(
                "UPDATE idempotency_keys SET response_status = :status, response_body = :body"
                " WHERE caller = :caller AND key = :key"
            ),
            {"caller": caller, "key": key, "status": answer.status, "body": answer.body.decode()},
        )

    async def add_charge(
        self,
        *,
        amount: Money,
        failure: Failure | None,
        brand: str,
        last4: str,
        reference: str,
        description: str | None,
    ) -> Charge:
        row = (
            await self.connection.execute(
                text(
                    "INSERT INTO charges (amount, currency, failure_code, card_brand,"  # noqa: S608
                    " card_last4, reference, description)"
                    " VALUES (:amount, :currency, :failure, :brand, :last4, :reference,"
                    f" :description) RETURNING {_CHARGE_COLUMNS}"
                ),
                {
                    "amount": amount.amount,
                    "currency": amount.currency,
                    "failure": failure.value if failure else None,
                    "brand": brand,
                    "last4": last4,
                    "reference": reference,
                    "description": description,
                },
            )
        ).one()
        return _charge(row)

    async def locked_charge(self, charge_id: str) -> tuple[Charge, list[Refund]] | None:
        """The charge and its refunds, the charge's row locked until the transaction ends:
        refunds of one charge take turns, so together they never pass the charge."""
        rows = await self.connection.execute(
            text(f"SELECT {_CHARGE_COLUMNS} FROM charges WHERE id = :id FOR UPDATE"),  # noqa: S608
            {"id": charge_id},
        )
        found = [_charge(row) for row in rows]
        if not found:
            return None
        return found[0], await _refunds(self.connection, [charge_id])

    async def add_refund(self, charge_id: str, amount: Money, reason: str) -> Refund:
        row = (
            await self.connection.execute(
                text(
                    "INSERT INTO refunds (charge_id, amount, currency, reason)"  # noqa: S608
                    f" VALUES (:charge, :amount, :currency, :reason) RETURNING {_REFUND_COLUMNS}"
                ),
                {
                    "charge": charge_id,
                    "amount": amount.amount,
                    "currency": amount.currency,
                    "reason": reason,
                },
            )
        ).one()
        return _refund(row)


async def _refunds(connection: AsyncConnection, charge_ids: Sequence[str]) -> list[Refund]:
    if not charge_ids:
        return []
    rows = await connection.execute(
        text(
            f"SELECT {_REFUND_COLUMNS} FROM refunds"  # noqa: S608
            " WHERE charge_id = ANY(CAST(:ids AS uuid[])) ORDER BY created_at, id"
        ),
        {"ids": list(charge_ids)},
    )
    return [_refund(row) for row in rows]


def _charge(row: Row[Any]) -> Charge:
    return Charge(
        id=str(row.id),
        amount=Money(row.amount, row.currency),
        failure=Failure(row.failure_code) if row.failure_code else None,
        brand=row.card_brand,
        last4=row.card_last4,
        reference=row.reference,
        description=row.description,
        created_at=row.created_at,
    )


def _refund(row: Row[Any]) -> Refund:
    return Refund(
        id=str(row.id),
        charge_id=str(row.charge_id),
        amount=Money(row.amount, row.currency),
        reason=row.reason,
        created_at=row.created_at,
    )
