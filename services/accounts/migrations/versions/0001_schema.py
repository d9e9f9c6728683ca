"""Users, their sessions and their saved addresses.

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
ONE_LINE = "'^[^\\x01-\\x1f\\x7f]*$'"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[sa.DateTime]:
    default = None if nullable else NOW
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        # Normalized by the service (lowercase); the unique index is the one truth.
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("password_changed_at"),
        sa.CheckConstraint(
            "email = lower(email) AND length(email) <= 254 AND strpos(email, '@') > 1",
            name="users_email",
        ),
        sa.CheckConstraint(
            f"display_name <> '' AND length(display_name) <= 80 AND display_name ~ {ONE_LINE}",
            name="users_display_name",
        ),
        sa.CheckConstraint("password_hash LIKE '$argon2%'", name="users_password_hash"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column(
            "user_id",
            UUID(as_uuid=False),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # SHA-256 of the session token: a copy of this table signs nobody in.
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        _timestamp("created_at"),
        _timestamp("last_seen_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _timestamp("revoked_at", nullable=True),
        sa.CheckConstraint("length(token_hash) = 32", name="sessions_token_hash"),
        sa.CheckConstraint("expires_at > created_at", name="sessions_expiry"),
    )
    # Revoking "every session of this user" reads exactly these rows.
    op.create_index(
        "sessions_live_by_user",
        "sessions",
        ["user_id"],
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "addresses",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column(
            "user_id",
            UUID(as_uuid=False),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("line1", sa.Text, nullable=False),
        sa.Column("line2", sa.Text, nullable=False, server_default=""),
        sa.Column("city", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False, server_default=""),
        sa.Column("postal_code", sa.Text, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "recipient <> '' AND line1 <> '' AND city <> '' AND postal_code <> ''",
            name="addresses_required",
        ),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name="addresses_country"),
    )
    # A user's addresses, oldest first, as the account page lists them.
    op.create_index("addresses_by_user", "addresses", ["user_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("addresses")
    op.drop_table("sessions")
    op.drop_table("users")
