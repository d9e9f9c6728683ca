"""The daily backup as the runner schedules it (mosaic.backup_job), under a controllable
clock: nothing runs before 02:00 UTC; then `mosaic admin backup-job` takes a real backup
(real Postgres and Valkey) into the home's backups folder, prunes the older ones by the
retention rule, and leaves its run where `mosaic admin jobs` reads it; a second run while
the first holds the job's lock does nothing; compose runs the same command on its cron."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from mosaic import compose
from mosaic.admin.backup import stateful
from mosaic.admin.job_runs import read_jobs
from mosaic.admin.shop_job import job_lock
from mosaic.backing.servers import BackingServers
from mosaic.backup_job import JOB, runner_command
from mosaic.home import services_dir
from mosaic.images import REGISTRY, TOOLS
from mosaic.jobs import schedule
from mosaic.logs import LogStream
from mosaic.services import Service
from mosaic_testing import mosaic

from tools.mosaic.tests.test_documented_commands import check_runnable

START = datetime(2026, 12, 6, 10, 2, 17, tzinfo=UTC)
# Complete backups of Nov 1..20 2026, one a day, and an unfinished one of Nov 21.
OLD = [datetime(2026, 11, day, 2, tzinfo=UTC) for day in range(1, 21)]
# Kept with 7 daily and 4 weekly, beside the new one (taken today, in a later week): the
# newest of the 6 other most recent days (Nov 15-20) and of ISO week 45 (Nov 2-8: the 8th);
# week 47's newest is the 20th and week 46's the 15th, kept already.
KEPT = {f"2026-11-{day:02d}T02-00-00Z" for day in (8, 15, 16, 17, 18, 19, 20)}


class Enough(Exception):
    pass


class Clock:
    """Time stands still until the scheduler sleeps; its second sleep ends the test."""

    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.slept:
            raise Enough
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    with BackingServers(tmp_path_factory.mktemp("backup-schedule")) as started:
        yield started


def old_backups(root: Path) -> None:
    for taken in OLD:
        folder = root / taken.strftime("%Y-%m-%dT%H-%M-%SZ")
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
    (root / "2026-11-21T02-00-00Z").mkdir()  # a backup that failed: no manifest


def test_the_runners_backup_runs_at_two_takes_a_backup_and_prunes(
    servers: BackingServers,
    services: list[Service],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for service in stateful(services):
        if "postgres" in service.backing:
            servers.database_url(service.name)  # its database, as provisioning leaves it
    home = tmp_path / "home"
    old_backups(home / "backups")
    # The runner's command finds the running `up`'s servers; here, the same through the
    # backup commands' environment variables.
    monkeypatch.setenv("MOSAIC_POSTGRES_ADMIN_URL", servers.admin_database_url)
    monkeypatch.setenv("MOSAIC_VALKEY_ADMIN_URL", servers.admin_redis_url)
    command = runner_command(home, services_dir(None), grace=10)
    out = io.StringIO()
    clock, logs = Clock(), LogStream(out, pretty=False)
    with pytest.raises(Enough):
        asyncio.run(schedule("mosaic", JOB, command, logs, clock, clock.sleep))
    assert clock.slept == [(datetime(2026, 12, 7, 2, tzinfo=UTC) - START).total_seconds()]
    left = {p.name for p in (home / "backups").iterdir()}
    new = left - KEPT
    assert len(new) == 1, (sorted(left), out.getvalue())
    [folder] = [home / "backups" / name for name in new]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["services"]) == {s.name for s in stateful(services)}, out.getvalue()
    assert "Backed up" in out.getvalue() and "past the retention" in out.getvalue()

    [seen] = [
        j
        for j in read_jobs(servers.admin_database_url, [], 1, datetime.now(UTC))
        if j.service == "mosaic"
    ]
    assert seen.job.name == "backup" and seen.last is not None
    assert seen.last.outcome == "ok" and "Backed up" in seen.last.output_tail
    assert seen.next_run.hour == 2 and seen.next_run > seen.last.started_at


def test_a_second_run_while_one_holds_the_lock_does_nothing(
    servers: BackingServers, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "MOSAIC_HOME": str(tmp_path / "home"),
        "MOSAIC_POSTGRES_ADMIN_URL": servers.admin_database_url,
        "MOSAIC_VALKEY_ADMIN_URL": servers.admin_redis_url,
    }

    async def while_held() -> tuple[int, str]:
        async with job_lock(servers.admin_database_url, "backup") as taken:
            assert taken
            done = await asyncio.to_thread(mosaic, "admin", "backup-job", env=env, timeout=60)
            return done.returncode, done.stdout

    code, stdout = asyncio.run(while_held())
    assert code == 0 and "skipped: another run of it holds its lock" in stdout, stdout
    assert not (tmp_path / "home" / "backups").exists()


def test_a_failed_run_is_recorded_and_prunes_nothing(
    servers: BackingServers, tmp_path: Path
) -> None:
    root = tmp_path / "backups"
    old_backups(root)
    before = sorted(p.name for p in root.iterdir())
    env = {
        **os.environ,
        "MOSAIC_HOME": str(tmp_path / "home"),
        "MOSAIC_POSTGRES_ADMIN_URL": servers.admin_database_url,
        "MOSAIC_VALKEY_ADMIN_URL": "redis://nobody:wrong@127.0.0.1:1",  # Valkey away
    }
    done = mosaic("admin", "backup-job", "--to", str(root), env=env, timeout=60)
    assert done.returncode == 1 and "the backup job failed" in done.stderr, done.stderr
    assert sorted(p.name for p in root.iterdir() if p.name in before) == before

    async def last() -> asyncpg.Record | None:
        connection = await asyncpg.connect(servers.admin_database_url)
        try:
            return await connection.fetchrow(
                "SELECT outcome, output_tail FROM job_runs WHERE job = 'backup'"
                " ORDER BY started_at DESC LIMIT 1"
            )
        finally:
            await connection.close()

    row = asyncio.run(last())
    assert row is not None and row["outcome"] == "failed" and "failed: " in row["output_tail"], row


def test_compose_runs_the_daily_backup_from_the_tools_image(services: list[Service]) -> None:
    backup = compose.compose(services)["services"]["backup"]
    assert backup["image"].startswith(f"{REGISTRY}/{TOOLS}:")
    argv = backup["command"]
    assert argv[:3] == ["mosaic", "admin", "backup-job"]
    assert argv[argv.index("--cron") + 1] == JOB.cron
    check_runnable(argv[1:])
    targets = {
        v.split(":")[-2] if v.endswith(":ro") else v.split(":")[-1] for v in backup["volumes"]
    }
    named = [a for a in argv if a.startswith("/")]
    assert named and all(any(a.startswith(t) for t in targets) for a in named), (named, targets)
    assert f"{compose.STATE}/backups:{argv[argv.index('--to') + 1]}" in backup["volumes"]


def test_the_shop_job_locks_with_the_key_scheme_of_the_services_jobs() -> None:
    """mosaic.admin.shop_job is a twin of chassis.job_lock (the tools image carries no
    chassis): the same job must take the same advisory lock under either."""
    from chassis.job_lock import lock_key
    from mosaic.admin import shop_job

    assert shop_job.lock_key("backup") == lock_key(shop_job.SERVICE, "backup")
