"""Carts and their lines.

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


def _timestamp(name: str) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=NOW)


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        # Exactly one owner: an anonymous visitor (the frontend's opaque id) or a user
        # (the `sub` of a verified user token). One cart per owner: the unique constraints
        # are what makes "get or create" safe across replicas.
        sa.Column("visitor_id", sa.Text, nullable=True, unique=True),
        sa.Column("user_id", sa.Text, nullable=True, unique=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),  # for a future sweep of abandoned visitor carts
        sa.CheckConstraint("(visitor_id IS NULL) <> (user_id IS NULL)", name="carts_one_owner"),
        sa.CheckConstraint("visitor_id ~ '^[A-Za-z0-9_-]{22,64}$'", name="carts_visitor_id"),
    )
    op.create_table(
        "cart_lines",
        sa.Column(
            "cart_id",
            UUID(as_uuid=False),
            sa.ForeignKey("carts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("product_id", sa.Text, primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        _timestamp("added_at"),
        # No price: prices belong to catalog and are read at display time.
        sa.CheckConstraint("quantity BETWEEN 1 AND 10", name="cart_lines_quantity"),
        sa.CheckConstraint(
            "product_id ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(product_id) <= 64",
            name="cart_lines_product_id",
        ),
    )


def downgrade() -> None:
    op.drop_table("cart_lines")
    op.drop_table("carts")
