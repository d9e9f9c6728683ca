"""The notifications service's release phase: its Alembic migrations, run the platform's way
(DATABASE_URL from the env, one transaction, an advisory lock; see chassis.migrations)."""

from chassis.migrations import run_migrations

run_migrations("notifications")
