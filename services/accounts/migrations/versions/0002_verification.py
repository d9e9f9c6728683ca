"""Addresses proven by a link: users' verified_at, verification tokens, and the outbox.

Expand only: accounts created before this revision are marked verified (they signed up
under the old rule, and locking them out now would help nobody).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.add_column("users", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET verified_at = created_at")
    op.create_table(
        "verifications",
        # SHA-256 of the link's token: a copy of this table verifies nobody.
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column(
            "user_id",
            UUID(as_uuid=False),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(token_hash) = 32", name="verifications_token_hash"),
    )
    # As orders' outbox; a row goes once published, so the link's token (in the payload,
    # for the mail) is not kept at rest any longer than the relay takes.
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("payload", JSONB, nullable=False),  # the whole envelope, as published
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        # A row that can never be published (it is not a valid event) is set aside here,
        # with why, instead of blocking every row after it.
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("verifications")
    op.drop_column("users", "verified_at")
