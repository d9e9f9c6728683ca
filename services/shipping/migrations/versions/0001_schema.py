"""Shipments, and the idempotency keys that created them.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        # Random (tracking.py), never derived from the id; unique so two shipments cannot
        # share one even in the negligible case that the generator repeats.
        sa.Column("tracking_id", sa.Text, nullable=False, unique=True),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("option", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("price_amount", sa.Integer, nullable=False),
        sa.Column("price_currency", sa.Text, nullable=False),
        sa.Column("days_min", sa.Integer, nullable=False),
        sa.Column("days_max", sa.Integer, nullable=False),
        sa.Column("address", JSONB, nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("tracking_id ~ '^MOS[A-Z2-7]{12}$'", name="shipments_tracking_id"),
        sa.CheckConstraint("option IN ('standard', 'express')", name="shipments_option"),
        sa.CheckConstraint(
            "(status = 'created' AND cancelled_at IS NULL)"
            " OR (status = 'cancelled' AND cancelled_at IS NOT NULL)",
            name="shipments_status",
        ),
        sa.CheckConstraint("price_amount > 0", name="shipments_price_amount"),
        sa.CheckConstraint("price_currency ~ '^[A-Z]{3}$'", name="shipments_price_currency"),
        sa.CheckConstraint("0 < days_min AND days_min <= days_max", name="shipments_days"),
    )
    op.create_index("shipments_by_reference", "shipments", ["reference", "created_at"])
    op.create_table(
        "idempotency_keys",
        # Keys are scoped per calling service: one caller's key never answers another's.
        # The primary key is the claim: the INSERT that takes it runs in the transaction
        # that creates the shipment, so a concurrent request with the same key waits on
        # the index and then reads the stored response.
        sa.Column("caller", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column(
            "shipment_id",
            UUID(as_uuid=False),
            # Checked at commit: the key is claimed before the shipment row is written.
            sa.ForeignKey("shipments.id", deferrable=True, initially="DEFERRED"),
            nullable=False,
        ),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),  # the body, byte for byte
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("key ~ '^[A-Za-z0-9._:-]{1,255}$'", name="idempotency_keys_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("shipments_by_reference", table_name="shipments")
    op.drop_table("shipments")
