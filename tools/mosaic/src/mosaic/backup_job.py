"""The daily backup job: a backup of every stateful service into `<root>/<time>`, then the
retention (mosaic.backup_retention: KEEP_DAILY days, KEEP_WEEKLY weeks).

The backup itself is `mosaic admin backup`'s function (`mosaic.admin.backup.take_backup`,
bound to the shop's admin URLs and stateful services: `TakeBackup`). Older backups are
pruned only after the new one completed: a failing backup never costs an old one. Safe to
run twice: each run is a new folder (its time, to the second), and the retention keeps the
newest of each day.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from mosaic.backup_retention import STAMP, prune

CRON = "0 2 * * *"  # daily, 02:00 UTC: before cart's purge (03:40), off-peak
KEEP_DAILY = 7
KEEP_WEEKLY = 4

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
