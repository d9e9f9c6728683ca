"""The runner skips a release whose database is already at its migrations' head, and only
then: real Postgres, the real `alembic upgrade head` of a copy of payments' migrations."""

import dataclasses
import io
import shutil
from pathlib import Path

import asyncpg
from mosaic.backing import BackingServers
from mosaic.home import services_dir
from mosaic.logs import LogStream
from mosaic.plan import base_env
from mosaic.release import at_head, script_heads
from mosaic.services import load_service
from mosaic.stack import Stack, UpOptions

NEXT_REVISION = '''"""A column added after the first release."""

revision: str = "0002"
down_revision: str | None = "0001"

from alembic import op


def upgrade() -> None:
    op.execute("CREATE TABLE skip_test_marker (id integer)")
'''


def payments_copy(tmp_path: Path) -> Path:
    """payments' Procfile, pyproject and migrations in a folder of its own (to add to)."""
    source = services_dir() / "payments"
    folder = tmp_path / "payments"
    folder.mkdir()
    for name in ("Procfile", "pyproject.toml", "alembic.ini"):
        shutil.copy(source / name, folder / name)
    shutil.copytree(source / "migrations", folder / "migrations")
    return folder


async def tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


async def release(folder: Path, url: str) -> str:
    """Run the runner's release step for the service in `folder`; what it noted."""
    out = io.StringIO()
    stack = Stack(UpOptions(home=folder.parent, services_dir=folder.parent), LogStream(out))
    service = dataclasses.replace(load_service(folder), name="payments")
    await stack.release(service, {**base_env(), "DATABASE_URL": url})
    return out.getvalue()


def test_the_heads_are_read_without_importing_the_scripts(tmp_path: Path) -> None:
    folder = payments_copy(tmp_path)
    assert script_heads(folder) == {"0001"}
    (folder / "migrations" / "versions" / "0002_next.py").write_text(NEXT_REVISION)
    assert script_heads(folder) == {"0002"}
    (folder / "migrations" / "versions" / "0003_odd.py").write_text(
        'revision = "0003"\ndown_revision = compute()\n'
    )
    assert script_heads(folder) == frozenset()  # cannot tell: the release runs


async def test_a_start_at_head_runs_no_release_and_one_behind_migrates(
    tmp_path: Path, backing: BackingServers
) -> None:
    folder = payments_copy(tmp_path)
    url = backing.database_url("release_skip")
    assert await at_head("alembic upgrade head", folder, url) == frozenset()  # empty database

    first = await release(folder, url)
    assert "running the release phase of payments" in first
    assert "alembic_version" in await tables(url)
    assert await at_head("alembic upgrade head", folder, url) == {"0001"}

    warm = await release(folder, url)
    assert "running the release phase" not in warm
    assert "payments is at its migrations' head (0001): no release needed" in warm

    # A newer checkout: one revision more. The home is behind head, so it migrates.
    (folder / "migrations" / "versions" / "0002_next.py").write_text(NEXT_REVISION)
    assert await at_head("alembic upgrade head", folder, url) == frozenset()
    behind = await release(folder, url)
    assert "running the release phase of payments" in behind
    assert "skip_test_marker" in await tables(url)
    assert await at_head("alembic upgrade head", folder, url) == {"0002"}
    # Any other release line is never skipped, whatever the database holds.
    assert await at_head("python release.py", folder, url) == frozenset()
