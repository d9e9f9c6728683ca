"""Categories and products, with full-text search over name, tags and description.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLUG = "'^[a-z0-9]+(-[a-z0-9]+)*$'"

# A generated column may only call immutable functions; array_to_string is merely stable
# (for arrays of any type its output could depend on settings), for text[] it is not.
TAGS_TEXT = """
CREATE FUNCTION catalog_tags_text(tags text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN array_to_string(tags, ' ')
"""

# Weights: a word in the name (A) counts more than in a tag (B), more than in the text (C).
SEARCH = (
    "setweight(to_tsvector('english'::regconfig, name), 'A')"
    " || setweight(to_tsvector('english'::regconfig, catalog_tags_text(tags)), 'B')"
    " || setweight(to_tsvector('english'::regconfig, description), 'C')"
)


def upgrade() -> None:
    op.execute(TAGS_TEXT)
    op.create_table(
        "categories",
        sa.Column("slug", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint(f"slug ~ {SLUG} AND length(slug) <= 64", name="categories_slug"),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "category",
            sa.Text,
            sa.ForeignKey("categories.slug", onupdate="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("price_amount", sa.Integer, nullable=False),
        sa.Column("price_currency", sa.Text, nullable=False),
        sa.Column("tags", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("search", TSVECTOR, sa.Computed(SEARCH, persisted=True), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(f"id ~ {SLUG} AND length(id) <= 64", name="products_id"),
        sa.CheckConstraint("name <> '' AND description <> ''", name="products_text"),
        sa.CheckConstraint("price_amount >= 0", name="products_price_amount"),
        sa.CheckConstraint("price_currency ~ '^[A-Z]{3}$'", name="products_price_currency"),
    )
    op.create_index("products_search", "products", ["search"], postgresql_using="gin")
    # Serves both the category pages and the foreign key: ordered as the pages are.
    op.create_index("products_by_category", "products", ["category", "name", "id"])
    op.create_index("products_by_name", "products", ["name", "id"])


def downgrade() -> None:
    op.drop_table("products")
    op.drop_table("categories")
    op.execute("DROP FUNCTION catalog_tags_text(text[])")
