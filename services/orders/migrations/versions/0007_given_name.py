"""The shopper's given name with the order, which the confirmation mail greets by (the name
split's orders part, docs/operations.md "Changing a schema safely"): nullable, as a guest
has none and earlier orders were placed without one.

Expand only: code of revision 0006 names the table's columns and never this one.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No default, no rewrite: adding a nullable column only changes the catalog.
    op.add_column("orders", sa.Column("given_name", sa.Text, nullable=True))
    op.create_check_constraint(
        "orders_given_name",
        "orders",
        "length(given_name) BETWEEN 1 AND 80 AND given_name ~ '^[^\\x01-\\x1f\\x7f]*$'",
    )


def downgrade() -> None:
    op.drop_column("orders", "given_name")
