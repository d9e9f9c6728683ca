"""The daily backup job: a backup of every stateful service into `<root>/<time>`, then the
retention (mosaic.backup_retention: KEEP_DAILY days, KEEP_WEEKLY weeks).

The backup itself is `mosaic admin backup`'s function (`mosaic.admin.backup.take_backup`,
bound to the shop's admin URLs and stateful services: `TakeBackup`). Older backups are
pruned only after the new one completed: a failing backup never costs an old one. Safe to
run twice: each run is a new folder (its time, to the second), and the retention keeps the
newest of each day.

One declaration, `JOB` (`mosaic admin backup-job` at `CRON`), runs everywhere: the runner
schedules it beside the services' jobs (`runner_command`), compose runs it in a container
of the tools image (`mosaic admin backup-job --cron`), Kubernetes as a CronJob of the
backup component (kubernetes_backup.py). Each run holds the job's advisory lock and is
recorded in the admin database under the pseudo-service `mosaic` (admin/shop_job.py), where
`mosaic admin jobs` shows it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from mosaic.backup_retention import STAMP, prune
from mosaic.children import Command
from mosaic.services import Job, Service

CRON = "0 2 * * *"  # daily, 02:00 UTC: before cart's purge (03:40), off-peak
KEEP_DAILY = 7
KEEP_WEEKLY = 4
NAME = "backup"
JOB = Job(NAME, "mosaic admin backup-job", None, CRON)
BACKUP_JOB_NAME = f"mosaic.{NAME}"  # the pseudo-service `mosaic` (admin/shop_job.py)

TakeBackup = Callable[[Path], Awaitable[object]]  # back the shop up into this new folder


async def daily_backup(
    take: TakeBackup,
    root: Path,
    now: datetime,
    daily: int = KEEP_DAILY,
    weekly: int = KEEP_WEEKLY,
) -> tuple[Path, list[Path]]:
    """The new backup's folder, and the old ones deleted after it completed."""
    folder = root / now.strftime(STAMP)
    await take(folder)  # raises on failure: nothing is pruned
    return folder, prune(root, daily, weekly)


def keeps_data(services: list[Service]) -> bool:
    """Whether the runner has a backup to schedule: a service keeps a database (the job's
    lock and records need Postgres)."""
    return any("postgres" in s.backing for s in services)


def runner_command(home: Path, services_dir: Path, grace: float) -> Command:
    """The job as `mosaic up` runs it: this `mosaic`, on the running home (its servers)."""
    env = {"MOSAIC_HOME": str(home), "MOSAIC_SERVICES_DIR": str(services_dir)}
    return Command(
        [sys.executable, "-m", "mosaic", "admin", "backup-job"],
        cwd=home,
        env={**os.environ, **env},
        grace_seconds=grace,
    )
