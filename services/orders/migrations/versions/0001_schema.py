"""Orders (with their saga state and lease) and the outbox.

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
STEPS = "'pricing','quoting','charging','shipping','confirmed','compensating','cancelled'"


def _timestamp(name: str, nullable: bool = False) -> sa.Column[sa.DateTime]:
    default = None if nullable else NOW
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("owner_kind", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        # The checkout's Idempotency-Key, hashed with its owner (never stored as sent);
        # NULL once released (a checkout that failed before any payment may be retried).
        sa.Column("key_hash", sa.LargeBinary, nullable=True),
        # HMAC of the request body under the key: the card is in the body, so no plain hash.
        sa.Column("fingerprint", sa.LargeBinary, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("shipping_option", sa.Text, nullable=False),
        sa.Column("address", JSONB, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("cart_id", UUID(as_uuid=False), nullable=True),
        sa.Column("lines", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("shipping", JSONB, nullable=True),
        sa.Column("subtotal", sa.BigInteger, nullable=True),
        sa.Column("total", sa.BigInteger, nullable=True),
        sa.Column("charge_id", sa.Text, nullable=True),
        sa.Column("shipment_id", sa.Text, nullable=True),
        sa.Column("tracking_id", sa.Text, nullable=True),
        sa.Column("failure", JSONB, nullable=True),
        sa.Column("cart_cleared", sa.Boolean, nullable=False, server_default=sa.false()),
        # The guest link's token: looked up by its SHA-256 only. The token itself is kept
        # while the saga runs (the OrderConfirmed e-mail carries the link), and sealed
        # under the Idempotency-Key for replays of the checkout's answer.
        sa.Column("status_token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("status_token_sealed", sa.LargeBinary, nullable=False),
        sa.Column("status_token", sa.Text, nullable=True),
        # The lease: who drives the saga now, and until when (live checkout or recovery).
        sa.Column("lease_holder", sa.Text, nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        _timestamp("placed_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(f"step IN ({STEPS})", name="orders_step"),
        sa.CheckConstraint("owner_kind IN ('visitor', 'user')", name="orders_owner_kind"),
        sa.CheckConstraint(
            "step NOT IN ('confirmed') OR (charge_id IS NOT NULL AND shipment_id IS NOT NULL)",
            name="orders_confirmed_is_paid_and_shipped",
        ),
        sa.CheckConstraint(
            "step NOT IN ('compensating', 'cancelled') OR failure IS NOT NULL",
            name="orders_cancelled_has_a_reason",
        ),
    )
    op.create_index(
        "orders_key", "orders", ["key_hash"], unique=True, postgresql_where="key_hash IS NOT NULL"
    )
    op.create_index("orders_owner", "orders", ["owner_kind", "owner_id", "placed_at"])
    # What the recovery scans: sagas not finished.
    op.create_index(
        "orders_unfinished",
        "orders",
        ["lease_until"],
        postgresql_where="step <> 'cancelled' AND NOT (step = 'confirmed' AND cart_cleared)",
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("order_id", UUID(as_uuid=False), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("payload", JSONB, nullable=False),  # the whole envelope, as published
        _timestamp("created_at"),
        _timestamp("published_at", nullable=True),
    )
    op.create_index(
        "outbox_unpublished", "outbox", ["seq"], postgresql_where="published_at IS NULL"
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("orders")
