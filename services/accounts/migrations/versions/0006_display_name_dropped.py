"""Contract, release 3 of splitting the display name (docs/operations.md, "Changing a schema
safely"): `users.display_name` and its trigger go; `given_name` becomes NOT NULL.

Refuses to run while an account has no given name: release 2's backfill has not split
every display name yet (`mosaic admin run accounts backfill-names`, from a release 2 build),
and dropping the column would lose those names. Release 2's code runs on this schema: it
names `display_name` only for an account without a given name, of which there is none.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op
from chassis.migrations import MigrationRefused
from sqlalchemy import text

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOLLOWS = """
CREATE FUNCTION users_display_name_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.display_name IS NOT DISTINCT FROM OLD.display_name THEN
        NEW.display_name := NULL;
    END IF;
    RETURN NEW;
END $$
"""
_TRIGGER = (
    "CREATE TRIGGER users_display_name_follows BEFORE UPDATE OF given_name, family_name"
    " ON users FOR EACH ROW WHEN ((NEW.given_name, NEW.family_name)"
    " IS DISTINCT FROM (OLD.given_name, OLD.family_name))"
    " EXECUTE FUNCTION users_display_name_follows()"
)
ONE_LINE = "'^[^\\x01-\\x1f\\x7f]*$'"


def upgrade() -> None:
    # The lock keeps a release 1 replica, if one still serves, from writing an account
    # without a given name between this count and the NOT NULL below.
    op.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
    unsplit = op.get_bind().execute(text("SELECT count(*) FROM users WHERE given_name IS NULL"))
    left = unsplit.scalar_one()
    if left:
        raise MigrationRefused(
            f"{left} account(s) have no given name yet, only a display name this release "
            "drops. Run release 2's backfill to the end first (`mosaic admin run accounts "
            "backfill-names` with release 2 deployed, until it says none are left), then "
            "this release again."
        )
    op.execute("DROP TRIGGER users_display_name_follows ON users")
    op.execute("DROP FUNCTION users_display_name_follows()")
    op.drop_column("users", "display_name")
    op.alter_column("users", "given_name", nullable=False)


def downgrade() -> None:
    """Back to release 2's schema: the display name nullable and empty (release 2 never
    reads it; release 1, if rolled back to, reads given + family where it is empty)."""
    op.alter_column("users", "given_name", nullable=True)
    op.execute("ALTER TABLE users ADD COLUMN display_name text")
    op.create_check_constraint(
        "users_display_name",
        "users",
        f"display_name <> '' AND length(display_name) <= 80 AND display_name ~ {ONE_LINE}",
    )
    op.execute(_FOLLOWS)
    op.execute(_TRIGGER)
