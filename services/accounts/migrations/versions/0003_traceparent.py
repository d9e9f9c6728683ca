"""The trace context beside each outbox row: the relay publishes the event in that trace.

Expand only, so code of revision 0002 runs on it unchanged: `outbox.traceparent` (W3C
trace context of the transaction that wrote the row) is nullable; rows written before it,
or by older code, are published without one and start a trace of their own.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("traceparent", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "traceparent")
