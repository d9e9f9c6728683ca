"""Persistence of saved addresses, in accounts' own Postgres database.

Every query is scoped by the user's id: an address id that belongs to someone else finds
nothing, exactly like an id that does not exist, so the answer is the same 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from chassis import Database
from sqlalchemy import Column, DateTime, Row, Table, Text, func, select
from sqlalchemy.dialects.postgresql import UUID

from accounts.addresses import (
    MAX_ADDRESSES,
    Address,
    AddressDraft,
    AddressLimitReached,
    AddressNotFound,
)
from accounts.store import metadata, users

addresses = Table(
    "addresses",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("user_id", UUID(as_uuid=False), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("line1", Text, nullable=False),
    Column("line2", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("postal_code", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

_FIELDS = ("recipient", "line1", "line2", "city", "region", "postal_code", "country")


class AddressBook:
    """One user's addresses; cheap to create per request."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def addresses(self, user_id: str) -> list[Address]:
        query = (
            select(addresses)
            .where(addresses.c.user_id == user_id)
            .order_by(addresses.c.created_at, addresses.c.id)
        )
        async with self.database.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_address(row) for row in rows]

    async def address(self, user_id: str, address_id: str) -> Address:
        query = select(addresses).where(_owned(user_id, address_id))
        async with self.database.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            raise AddressNotFound
        return _address(row)

    async def add_address(self, user_id: str, draft: AddressDraft) -> Address:
        async with self.database.engine.begin() as connection:
            # The user's row lock makes "count, then insert" safe from a concurrent add.
            lock = select(users.c.id).where(users.c.id == user_id).with_for_update()
            await connection.execute(lock)
            count = (
                select(func.count()).select_from(addresses).where(addresses.c.user_id == user_id)
            )
            if (await connection.execute(count)).scalar_one() >= MAX_ADDRESSES:
                raise AddressLimitReached
            statement = (
                addresses.insert()
                .values(id=str(uuid.uuid4()), user_id=user_id, **draft.model_dump())
                .returning(addresses)
            )
            row = (await connection.execute(statement)).one()
        return _address(row)

    async def replace_address(self, user_id: str, address_id: str, draft: AddressDraft) -> Address:
        statement = (
            addresses.update()
            .where(_owned(user_id, address_id))
            .values(**draft.model_dump(), updated_at=func.now())
            .returning(addresses)
        )
        async with self.database.engine.begin() as connection:
            row = (await connection.execute(statement)).first()
        if row is None:
            raise AddressNotFound
        return _address(row)

    async def delete_address(self, user_id: str, address_id: str) -> None:
        statement = addresses.delete().where(_owned(user_id, address_id))
        async with self.database.engine.begin() as connection:
            deleted = (await connection.execute(statement)).rowcount
        if not deleted:
            raise AddressNotFound


def _owned(user_id: str, address_id: str) -> Any:
    return (addresses.c.id == address_id) & (addresses.c.user_id == user_id)


def _address(row: Row[Any]) -> Address:
    fields = {name: getattr(row, name) for name in _FIELDS}
    return Address.model_construct(
        id=row.id, created_at=row.created_at, updated_at=row.updated_at, **fields
    )
