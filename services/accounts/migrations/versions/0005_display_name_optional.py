"""Migrate, release 2 of splitting the display name (docs/operations.md, "Changing a schema
safely"): `users.display_name` becomes optional; the code of this release writes only
`given_name` and `family_name`.

Release 1's code still serves beside it on this schema: it reads the display name and falls
back to given + family where there is none. So that it never shows a name that has since
changed, a write that changes given or family names and leaves the display name as it was
clears it (trigger `users_display_name_follows`): no copy at all rather than a stale one.
The code of this release never names the column, so it keeps working once the next
release drops it.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
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


def upgrade() -> None:
    op.alter_column("users", "display_name", nullable=True)
    op.execute(_FOLLOWS)
    op.execute(
        "CREATE TRIGGER users_display_name_follows BEFORE UPDATE OF given_name, family_name"
        " ON users FOR EACH ROW WHEN ((NEW.given_name, NEW.family_name)"
        " IS DISTINCT FROM (OLD.given_name, OLD.family_name))"
        " EXECUTE FUNCTION users_display_name_follows()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER users_display_name_follows ON users")
    op.execute("DROP FUNCTION users_display_name_follows()")
    op.execute(
        "UPDATE users SET display_name = concat_ws(' ', given_name, family_name)"
        " WHERE display_name IS NULL"
    )
    op.alter_column("users", "display_name", nullable=False)
