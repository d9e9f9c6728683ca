"""Retention and poison events: no plain guest token at rest, outbox rows set aside.

Expand only, so code of revision 0002 runs on it unchanged:
- `orders.status_token` (the guest link's token in plain, kept while the saga ran) is
  emptied and no longer written: the token is kept hashed and sealed only. A driver that
  cannot unseal it (the recovery) gives the order a second link, `recovered_token_hash`.
  The column itself goes in a later contract revision, once no 0002 code runs.
- `outbox.attempts`, `last_error`, `set_aside_at`: a row the broker keeps refusing is set
  aside after a few attempts instead of blocking every later event; the operator lists and
  retries it (`mosaic admin dead-letters`).
- `outbox_published`: the relay deletes published rows after the retention window.

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
    op.add_column("orders", sa.Column("recovered_token_hash", sa.LargeBinary, nullable=True))
    op.create_index(
        "orders_recovered_token",
        "orders",
        ["recovered_token_hash"],
        unique=True,
        postgresql_where="recovered_token_hash IS NOT NULL",
    )
    op.execute("UPDATE orders SET status_token = NULL WHERE status_token IS NOT NULL")
    op.add_column("outbox", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column("outbox", sa.Column("last_error", sa.Text, nullable=True))
    op.add_column("outbox", sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "outbox_published",
        "outbox",
        ["published_at"],
        postgresql_where="published_at IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("outbox_published", table_name="outbox")
    op.drop_column("outbox", "set_aside_at")
    op.drop_column("outbox", "last_error")
    op.drop_column("outbox", "attempts")
    op.drop_index("orders_recovered_token", table_name="orders")
    op.drop_column("orders", "recovered_token_hash")
