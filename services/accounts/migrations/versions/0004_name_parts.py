"""Expand, release 1 of splitting the display name (docs/operations.md, "Changing a schema
safely"): `users.given_name` and `users.family_name`, nullable, beside `display_name`.

Code of revision 0003 runs on it unchanged (it names neither column); the code of this
release writes all three and still shows `display_name`. Rows written before are split by
the backfill of the next release (`mosaic admin run accounts backfill-names`).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_LINE = "'^[^\\x01-\\x1f\\x7f]*$'"


def _name_check(column: str) -> str:
    """The display name's own check (0001), for each part."""
    return f"{column} <> '' AND length({column}) <= 80 AND {column} ~ {ONE_LINE}"


def upgrade() -> None:
    for column in ("given_name", "family_name"):
        # No default, no rewrite: adding a nullable column only changes the catalog.
        op.add_column("users", sa.Column(column, sa.Text, nullable=True))
        op.create_check_constraint(f"users_{column}", "users", _name_check(column))


def downgrade() -> None:
    op.drop_column("users", "family_name")
    op.drop_column("users", "given_name")
