"""Job runs, as orders' 0005: one row per run of a scheduled job (cart's `purge`,
`chassis.job_runs.record_run`), which the web process counts on its /metrics
(`mosaic_job_runs_total`, `mosaic_job_duration_seconds`).

Expand only: a new table no earlier code reads. Times are UTC, timezone-aware; the output
tail is the last few KB a run wrote (its log lines), bounded by the writer.

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
    op.create_table(
        "job_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("output_tail", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("outcome IN ('ok', 'failed')", name="job_runs_outcome"),
        sa.CheckConstraint("finished_at >= started_at", name="job_runs_order"),
    )
    op.create_index("job_runs_by_job", "job_runs", ["job", "started_at"])


def downgrade() -> None:
    op.drop_table("job_runs")
