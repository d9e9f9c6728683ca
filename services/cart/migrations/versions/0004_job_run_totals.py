"""Job run totals: per job and outcome, how many runs ever, their seconds, and how many took
at most each duration bound. `job_runs` is pruned (a week, at least the last 20 per job),
so counting its rows made `mosaic_job_runs_total` fall or stand still once pruning began;
a counter must only grow. `chassis.job_runs` adds each run here in the transaction that
records it, and /metrics reads these totals.

Expand only: a new table no earlier code reads, filled from the runs kept so far (the
bounds are chassis.metrics.JOB_BUCKETS as of this revision).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
SECONDS = "extract(epoch FROM finished_at - started_at)"


def upgrade() -> None:
    op.create_table(
        "job_run_totals",
        sa.Column("job", sa.Text, primary_key=True),
        sa.Column("outcome", sa.Text, primary_key=True),
        sa.Column("runs", sa.BigInteger, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("buckets", postgresql.ARRAY(sa.BigInteger), nullable=False),
    )
    buckets = ", ".join(f"count(*) FILTER (WHERE {SECONDS} <= {bound})" for bound in BOUNDS)
    op.execute(
        "INSERT INTO job_run_totals (job, outcome, runs, seconds, buckets)"  # noqa: S608
        f" SELECT job, outcome, count(*), coalesce(sum({SECONDS}), 0), ARRAY[{buckets}]"
        " FROM job_runs GROUP BY job, outcome"
    )


def downgrade() -> None:
    op.drop_table("job_run_totals")
