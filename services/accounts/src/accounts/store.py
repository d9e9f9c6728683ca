"""Persistence: users and sessions in accounts' own Postgres database.

The schema is owned by the Alembic migrations; these tables only name what the queries
read and write. Times come from Postgres (`now()`), one clock for every replica.

Long because users, verifications and sessions share transactions (a proven address opens a
session; a new password revokes every session and opens one, all or nothing); saved
addresses are apart, in address_book.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from chassis import Database
from chassis.tracing import current_traceparent
from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from accounts import events
from accounts.domain import EmailUnavailable, PersonName, User
from accounts.events import OutboxEvent
from accounts.schemas import Profile

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("email", Text, nullable=False),
    # The name split's contract (docs/operations.md): display_name is gone (0006); the
    # Profile's and the events' display_name is derived from these two.
    Column("given_name", Text, nullable=False),
    Column("family_name", Text),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("password_changed_at", DateTime(timezone=True)),
    Column("verified_at", DateTime(timezone=True)),
)

verifications = Table(
    "verifications",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("user_id", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("user_id", UUID(as_uuid=False), nullable=False),
    Column("token_hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

_UNIQUE_VIOLATION = "23505"
# Insert, or find who has the address (locked: a verification may be issued for it): the
# CTE's insert is invisible to the outer SELECT of `users`, so one branch answers.
_ADD_USER = text(
    """
    WITH added AS (
        INSERT INTO users (id, email, given_name, family_name, password_hash)
        VALUES (:id, :email, :given_name, :family_name, :password_hash)
        ON CONFLICT (email) DO NOTHING
        RETURNING id
    )
    SELECT id, true AS created, false AS verified,
        CAST(:given_name AS text) AS given_name, CAST(:family_name AS text) AS family_name
    FROM added
    UNION ALL
    SELECT id, false AS created, verified_at IS NOT NULL AS verified, given_name, family_name
    FROM users
    WHERE email = :email AND NOT EXISTS (SELECT 1 FROM added)
    """
)
_OUTBOX = text(
    "INSERT INTO outbox (event_id, type, version, payload, traceparent)"
    " VALUES (:id, :type, :version, :payload, :traceparent)"
).bindparams(bindparam("payload", type_=JSONB))


@dataclass(frozen=True, slots=True)
class NewVerification:
    """A link's token (only its hash is stored) and when it stops working."""

    token: str
    token_hash: bytes
    lifetime: timedelta


@dataclass(frozen=True, slots=True)
class PendingVerification:
    """The account a live link would confirm, and its sign-up's password hash."""

    user_id: str
    email: str
    password_hash: str


_NAME = (users.c.given_name, users.c.family_name)
_PROFILE = (users.c.id, users.c.email, *_NAME, users.c.created_at)
# Dead sessions of a user are deleted when they next sign in, once revoked this long.
_KEEP_REVOKED = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    user_id: str
    expires_at: datetime


def _live() -> Any:
    return sessions.c.revoked_at.is_(None) & (sessions.c.expires_at > func.now())


class Store:
    """Reads and writes for one request; cheap to create."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # --- users -------------------------------------------------------------------------

    async def register(
        self, email: str, name: PersonName, password_hash: str, link: NewVerification
    ) -> tuple[str, str]:
        """Register the address, and write the event that mails it: the user's id and the
        event's type, all in one transaction (the outbox), whoever has the address.

        - free: a new, unverified account; `AccountRegistered` carries the link.
        - taken, not verified yet: nobody has proven it is theirs, so the newest sign-up's
          password and name replace the old ones (a stranger cannot pre-register someone
          else's address and keep it), older links stop working, a new one is sent.
        - taken and verified: nothing changes; its owner hears of the attempt.
        """
        values = {
            "id": str(uuid.uuid4()),
            "email": email,
            **_name_values(name),
            "password_hash": password_hash,
        }
        while True:
            async with self.database.engine.begin() as connection:
                row = (await connection.execute(_ADD_USER, values)).first()
                # No row: a concurrent registration of the same address committed after
                # this statement's snapshot was taken; the next try sees it.
                if row is None:
                    continue
                user_id = str(row.id)
                if row.verified:
                    event = events.address_taken(user_id=user_id, email=email, name=_name_read(row))
                else:
                    if not row.created:
                        await connection.execute(
                            users.update()
                            .where(users.c.id == user_id, users.c.verified_at.is_(None))
                            .values(
                                **_name_values(name),
                                password_hash=password_hash,
                                updated_at=func.now(),
                            )
                        )
                    event = await _new_link(
                        connection, "AccountRegistered", user_id, email, name, link
                    )
                await _write(connection, event)
                return user_id, event.type

    async def request_verification(self, email: str, link: NewVerification) -> bool:
        """A new link for an unverified account (older ones stop working); False when no
        account with this address waits for one."""
        query = select(users.c.id, *_NAME).where(
            users.c.email == email, users.c.verified_at.is_(None)
        )
        async with self.database.engine.begin() as connection:
            row = (await connection.execute(query.with_for_update())).first()
            if row is None:
                return False
            event = await _new_link(
                connection,
                "VerificationRequested",
                str(row.id),
                email,
                _name_read(row),
                link,
            )
            await _write(connection, event)
        return True

    async def pending_verification(self, token_hash: bytes) -> PendingVerification | None:
        """Whose live link this is, and the password hash of the sign-up it was sent for
        (re-registering replaces the hash and the link together); None when the link is
        unknown, used or expired (one answer for all three)."""
        query = (
            select(users.c.id, users.c.email, users.c.password_hash)
            .join(verifications, verifications.c.user_id == users.c.id)
            .where(
                verifications.c.token_hash == token_hash, verifications.c.expires_at > func.now()
            )
        )
        async with self.database.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return (
            None if row is None else PendingVerification(str(row.id), row.email, row.password_hash)
        )

    async def verify(
        self,
        token_hash: bytes,
        password_hash: str,
        session_token_hash: bytes,
        lifetime: timedelta,
    ) -> SessionRecord | None:
        """Use a link whose sign-up's password the caller proved (`password_hash`, as read
        by `pending_verification`): the address is proven and a session opens. None when
        the link is unknown, used or expired, or a re-registration replaced the password
        since it was checked. Once only: the user's links are deleted in the same
        transaction."""
        used = (
            verifications.delete()
            .where(
                verifications.c.token_hash == token_hash,
                verifications.c.expires_at > func.now(),
                select(users.c.id)
                .where(
                    users.c.id == verifications.c.user_id,
                    users.c.password_hash == password_hash,
                )
                .exists(),
            )
            .returning(verifications.c.user_id)
        )
        async with self.database.engine.begin() as connection:
            row = (await connection.execute(used)).first()
            if row is None:
                return None
            user_id = str(row.user_id)
            await connection.execute(
                verifications.delete().where(verifications.c.user_id == user_id)
            )
            await connection.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(verified_at=func.coalesce(users.c.verified_at, func.now()))
            )
            return await _open_session(connection, user_id, session_token_hash, lifetime)

    async def user_by_email(self, email: str) -> User | None:
        return await self._user(users.c.email == email)

    async def user(self, user_id: str) -> User | None:
        return await self._user(users.c.id == user_id)

    async def _user(self, where: Any) -> User | None:
        query = select(
            users.c.id,
            users.c.email,
            *_NAME,
            users.c.password_hash,
            users.c.verified_at.is_not(None).label("verified"),
        ).where(where)
        async with self.database.engine.connect() as connection:
            row = (await connection.execute(query)).first()
            if row is None:
                return None
            name = _name_read(row)
        return User(row.id, row.email, name, row.password_hash, row.verified)

    async def profile(self, user_id: str) -> Profile | None:
        query = select(*_PROFILE).where(users.c.id == user_id)
        async with self.database.engine.connect() as connection:
            row = (await connection.execute(query)).first()
            return None if row is None else _profile(row)

    async def update_profile(
        self, user_id: str, *, name: PersonName | None, email: str | None
    ) -> Profile | None:
        values: dict[str, Any] = {"updated_at": func.now()}
        if name is not None:
            values.update(_name_values(name))
        if email is not None:
            values["email"] = email
        statement = (
            users.update().where(users.c.id == user_id).values(**values).returning(*_PROFILE)
        )
        async with self.database.engine.begin() as connection:
            try:
                row = (await connection.execute(statement)).first()
            except IntegrityError as error:
                if _sqlstate(error) == _UNIQUE_VIOLATION:
                    raise EmailUnavailable from None
                raise
            return None if row is None else _profile(row)

    async def replace_hash(self, user_id: str, old_hash: str, new_hash: str) -> None:
        """Store a rehash, unless the password changed meanwhile."""
        statement = (
            users.update()
            .where(users.c.id == user_id, users.c.password_hash == old_hash)
            .values(password_hash=new_hash)
        )
        async with self.database.engine.begin() as connection:
            await connection.execute(statement)

    async def change_password(
        self, user_id: str, new_hash: str, token_hash: bytes, lifetime: timedelta
    ) -> tuple[list[str], SessionRecord]:
        """New password, every live session revoked, one new session: all or nothing."""
        statement = (
            users.update()
            .where(users.c.id == user_id)
            .values(password_hash=new_hash, password_changed_at=func.now(), updated_at=func.now())
        )
        async with self.database.engine.begin() as connection:
            await connection.execute(statement)
            revoked = await _revoke_all(connection, user_id)
            session = await _open_session(connection, user_id, token_hash, lifetime)
        return revoked, session

    # --- sessions ----------------------------------------------------------------------

    async def open_session(
        self, user_id: str, token_hash: bytes, lifetime: timedelta
    ) -> SessionRecord:
        async with self.database.engine.begin() as connection:
            return await _open_session(connection, user_id, token_hash, lifetime)

    async def use_session(self, token_hash: bytes, idle: timedelta) -> SessionRecord | None:
        """The live session with this token, marked as used now; None if it is over."""
        statement = (
            sessions.update()
            .where(
                sessions.c.token_hash == token_hash,
                _live(),
                sessions.c.last_seen_at > func.now() - idle,
            )
            .values(last_seen_at=func.now())
            .returning(sessions.c.id, sessions.c.user_id, sessions.c.expires_at)
        )
        async with self.database.engine.begin() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else SessionRecord(*row)

    async def live_session(self, session_id: str) -> SessionRecord | None:
        query = select(sessions.c.id, sessions.c.user_id, sessions.c.expires_at).where(
            sessions.c.id == session_id, _live()
        )
        async with self.database.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else SessionRecord(*row)

    async def revoke_sessions(self, user_id: str) -> list[str]:
        """Revoke every live session of the user; the ids of those revoked."""
        async with self.database.engine.begin() as connection:
            return await _revoke_all(connection, user_id)


async def _new_link(
    connection: AsyncConnection,
    kind: Literal["AccountRegistered", "VerificationRequested"],
    user_id: str,
    email: str,
    name: PersonName,
    link: NewVerification,
) -> OutboxEvent:
    """The user's one live link (older ones go, with them any expired) and its event."""
    await connection.execute(verifications.delete().where(verifications.c.user_id == user_id))
    expires_at = (
        await connection.execute(
            verifications.insert()
            .values(
                token_hash=link.token_hash, user_id=user_id, expires_at=func.now() + link.lifetime
            )
            .returning(verifications.c.expires_at)
        )
    ).scalar_one()
    return events.verification(
        kind,
        user_id=user_id,
        email=email,
        name=name,
        token=link.token,
        expires_at=expires_at,
    )


async def _write(connection: AsyncConnection, event: OutboxEvent) -> None:
    await connection.execute(
        _OUTBOX,
        {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "payload": event.envelope(),
            "traceparent": current_traceparent(),  # the relay publishes in this trace
        },
    )


async def _open_session(
    connection: AsyncConnection, user_id: str, token_hash: bytes, lifetime: timedelta
) -> SessionRecord:
    # Housekeeping in passing: the user's sessions that are long over go, so the table
    # holds what is live plus a day of history, with no cleanup job to run.
    await connection.execute(
        sessions.delete().where(
            sessions.c.user_id == user_id,
            (sessions.c.expires_at < func.now())
            | (sessions.c.revoked_at < func.now() - _KEEP_REVOKED),
        )
    )
    statement = (
        sessions.insert()
        .values(
            id=str(uuid.uuid4()),
            user_id=user_id,
            token_hash=token_hash,
            expires_at=func.now() + lifetime,
        )
        .returning(sessions.c.id, sessions.c.user_id, sessions.c.expires_at)
    )
    return SessionRecord(*(await connection.execute(statement)).one())


async def _revoke_all(connection: AsyncConnection, user_id: str) -> list[str]:
    statement = (
        sessions.update()
        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(sessions.c.id)
    )
    return list((await connection.execute(statement)).scalars())


def _name_values(name: PersonName) -> dict[str, Any]:
    """A name, as the columns hold it."""
    return {"given_name": name.given, "family_name": name.family}


def _name_read(row: Any) -> PersonName:
    """Given and family names: every account has a given name (release 3's migration, 0006,
    ran only once the backfill had split every display name)."""
    return PersonName(row.given_name, row.family_name)


def _profile(row: Any) -> Profile:
    name = _name_read(row)
    return Profile(
        id=row.id,
        email=row.email,
        display_name=name.full,
        given_name=name.given,
        family_name=name.family,
        created_at=row.created_at,
    )


def _sqlstate(error: IntegrityError) -> str | None:
    return getattr(error.orig, "sqlstate", None)
