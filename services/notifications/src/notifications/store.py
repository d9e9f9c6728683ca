"""Persistence: the inbox (which events were handled) and the log of sent mail.

Every function runs inside the caller's transaction; the handler decides where it ends.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

Outcome = Literal["sent", "rejected"]

_CLAIM = text(
    "INSERT INTO inbox (event_id, type, version, outcome) VALUES (:event_id, :type, :version,"
    " 'sent') ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)
_OUTCOME = text("UPDATE inbox SET outcome = :outcome WHERE event_id = :event_id")
_RECORD = text(
    "INSERT INTO sent_mail (event_id, order_id, recipient, subject, message_id)"
    " VALUES (:event_id, :order_id, :recipient, :subject, :message_id)"
)


async def claim(session: AsyncSession, event_id: UUID, event_type: str, version: int) -> bool:
    """Claim the event for this transaction: False when it was handled already.

    While another transaction holds an uncommitted claim of the same id, this waits on the
    primary key's index: it returns False once that one commits, and claims the event
    itself if that one rolls back (its send failed). So two deliveries of one event never
    send at the same time.
    """
    result = await session.execute(
        _CLAIM, {"event_id": str(event_id), "type": event_type, "version": version}
    )
    return result.first() is not None


async def set_outcome(session: AsyncSession, event_id: UUID, outcome: Outcome) -> None:
    await session.execute(_OUTCOME, {"event_id": str(event_id), "outcome": outcome})


async def record_sent(
    session: AsyncSession,
    *,
    event_id: UUID,
    order_id: UUID,
    recipient: str,
    subject: str,
    message_id: str,
) -> None:
    await session.execute(
        _RECORD,
        {
            "event_id": str(event_id),
            "order_id": str(order_id),
            "recipient": recipient,
            "subject": subject,
            "message_id": message_id,
        },
    )
