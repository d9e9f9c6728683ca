"""The inbox (each handled event once) and the log of sent mail.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "inbox",
        # The primary key is the dedupe: a redelivered event's INSERT ... ON CONFLICT DO
        # NOTHING finds the row (or waits on the index while another worker holds it).
        sa.Column("event_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        # sent: the mail went out; rejected: the SMTP server refused the recipient for good.
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("outcome IN ('sent', 'rejected')", name="inbox_outcome"),
    )
    op.create_table(
        "sent_mail",
        sa.Column(
            "event_id",
            UUID(as_uuid=False),
            sa.ForeignKey("inbox.event_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("order_id", UUID(as_uuid=False), nullable=False, index=True),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False, unique=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )


def downgrade() -> None:
    op.drop_table("sent_mail")
    op.drop_table("inbox")
