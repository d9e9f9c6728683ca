"""The ledger (charges, refunds) and the idempotency keys.

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
NEW_ID = sa.text("gen_random_uuid()")
CURRENCY = "~ '^[A-Z]{3}$'"
FAILURES = "('card_declined', 'insufficient_funds', 'processing_error', 'processor_timeout')"


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW)


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("id", UUID(as_uuid=False), primary_key=True, server_default=NEW_ID),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        # NULL: succeeded. A charge is written once, with its outcome.
        sa.Column("failure_code", sa.Text, nullable=True),
        # Of the card, only what may be shown: never the number, the CVC or the expiry.
        sa.Column("card_brand", sa.Text, nullable=False),
        sa.Column("card_last4", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False, index=True),
        sa.Column("description", sa.Text, nullable=True),
        _created_at(),
        sa.CheckConstraint("amount > 0", name="charges_amount"),
        sa.CheckConstraint(f"currency {CURRENCY}", name="charges_currency"),
        sa.CheckConstraint(
            f"failure_code IS NULL OR failure_code IN {FAILURES}", name="charges_failure_code"
        ),
        sa.CheckConstraint("card_last4 ~ '^[0-9]{4}$'", name="charges_card_last4"),
    )
    op.create_table(
        "refunds",
        sa.Column("id", UUID(as_uuid=False), primary_key=True, server_default=NEW_ID),
        sa.Column(
            "charge_id",
            UUID(as_uuid=False),
            sa.ForeignKey("charges.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _created_at(),
        sa.CheckConstraint("amount > 0", name="refunds_amount"),
        sa.CheckConstraint(f"currency {CURRENCY}", name="refunds_currency"),
    )
    # The ledger is append-only: a mistake is corrected by a new row, never by an edit.
    op.execute(
        """
        CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
        END $$
        """
    )
    for table in ("charges", "refunds"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()"
        )
    op.create_table(
        "idempotency_keys",
        # Keys are scoped to the calling service (from its verified service token).
        sa.Column("caller", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),  # sha256 of the canonical request
        # The answer, stored in the same transaction as the claim and the work.
        sa.Column("response_status", sa.SmallInteger, nullable=True),
        sa.Column("response_body", sa.Text, nullable=True),
        _created_at(),
        sa.CheckConstraint("key ~ '^[A-Za-z0-9._:-]{1,255}$'", name="idempotency_keys_key"),
        sa.CheckConstraint("fingerprint ~ '^[0-9a-f]{64}$'", name="idempotency_keys_fingerprint"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("refunds")
    op.drop_table("charges")
    op.execute("DROP FUNCTION ledger_is_append_only()")
