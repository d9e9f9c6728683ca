"""The daily backup's retention: which backup folders go, given N daily and M weekly kept.

A backup is a folder `<root>/<YYYY-MM-DDTHH-MM-SSZ>` (mosaic.admin.backup's
`default_folder`), complete once its `manifest.json` is there (written last). Kept: the
newest complete backup of each of the N most recent days that have one, and of each of
the M most recent ISO weeks that have one (a backup may be both); every other complete
backup is deleted. A folder without a manifest is a backup still being written, or one
that failed: it is left alone while it is the newest folder, deleted once a later backup
completed. Folders whose names are not a backup's are never touched. `to_delete` is pure;
`prune` applies it. Safe to run twice: the second run finds nothing more to delete.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

MANIFEST = "manifest.json"  # as mosaic.admin.backup_manifest.MANIFEST
STAMP = "%Y-%m-%dT%H-%M-%SZ"


@dataclass(frozen=True)
class Backup:
    folder: Path
    taken_at: datetime
    complete: bool


def to_delete(backups: list[Backup], daily: int, weekly: int) -> list[Path]:
    """The folders to delete to keep `daily` days and `weekly` weeks of backups."""
    done = sorted((b for b in backups if b.complete), key=lambda b: b.taken_at, reverse=True)
    kept: set[Path] = set()
    for count, period in ((daily, _day), (weekly, _week)):
        seen: list[object] = []
        for backup in done:  # newest first: the first of each period is its newest
            if period(backup) not in seen and len(seen) < count:
                seen.append(period(backup))
                kept.add(backup.folder)
    newest = done[0].taken_at if done else None
    unfinished = [
        b.folder for b in backups if not b.complete and newest is not None and b.taken_at < newest
    ]
    old = [b.folder for b in done if b.folder not in kept]
    return sorted(old + unfinished)


def _day(backup: Backup) -> object:
    return backup.taken_at.date()


def _week(backup: Backup) -> object:
    return backup.taken_at.isocalendar()[:2]


def backups_in(root: Path) -> list[Backup]:
    """The backup folders under root (named by their time, UTC)."""
    found = []
    for folder in root.iterdir() if root.is_dir() else []:
        try:
            taken_at = datetime.strptime(folder.name, STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue  # not a backup's folder: never touched
        if folder.is_dir():
            found.append(Backup(folder, taken_at, (folder / MANIFEST).is_file()))
    return found


def prune(root: Path, daily: int, weekly: int) -> list[Path]:
    """Delete the backups under root past the retention; those deleted."""
    gone = to_delete(backups_in(root), daily, weekly)
    for folder in gone:
        shutil.rmtree(folder)
    return gone
