"""Settling: a cancelled order watched for a late charge until `settle_until`.

Expand only: a nullable column, a check, and the recovery's partial index widened to the
orders still settling. Code of revision 0001 runs on it unchanged (it never sets the column).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_UNFINISHED = "step <> 'cancelled' AND NOT (step = 'confirmed' AND cart_cleared)"
UNFINISHED = (
    "(step <> 'cancelled' OR settle_until IS NOT NULL)"
    " AND NOT (step = 'confirmed' AND cart_cleared)"
)


def upgrade() -> None:
    # Cancelled without any charge seen although one was attempted: until this time a
    # charge still in flight may land at payments, and the recovery refunds it.
    op.add_column("orders", sa.Column("settle_until", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        "orders_only_cancelled_settle", "orders", "settle_until IS NULL OR step = 'cancelled'"
    )
    op.drop_index("orders_unfinished", table_name="orders")
    op.create_index("orders_unfinished", "orders", ["lease_until"], postgresql_where=UNFINISHED)


def downgrade() -> None:
    op.drop_index("orders_unfinished", table_name="orders")
    op.create_index("orders_unfinished", "orders", ["lease_until"], postgresql_where=OLD_UNFINISHED)
    op.drop_constraint("orders_only_cancelled_settle", "orders", type_="check")
    op.drop_column("orders", "settle_until")
